package dev.shmesh.broker.internal;

/**
 * Layout of the header at the start of every shmesh shared-memory segment. No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 Magic "SHMESHSG" (little-endian long)          |  0
 *  |                                                               |
 *  +-------------------------------+-------------------------------+
 *  | Version: major<<16 | minor    |          Layout kind          |  8
 *  |  (written LAST, release: the  |                               |
 *  |   "ready" signal; 0 = not yet)|                               |
 *  +-------------------------------+-------------------------------+
 *  |                      Creator pid (long)                       | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |          Creator start time, epoch milliseconds (long)        | 24
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |              Total length of the segment in bytes             | 32
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                   Reserved, zero, up to 128                   | 40
 *  ...                                                           ...
 *  +---------------------------------------------------------------+
 *  |                Layout-kind specific region ...                | 128
 * </pre>
 *
 * <p>The creator writes every field, then the version with release semantics; a reader acquires the version
 * first, refuses a different major version and only then trusts the rest (as far as it trusts anything in
 * shared memory: every value is still bounds-checked).
 */
public final class SegmentHeaderDescriptor {
    /** "SHMESHSG" read as a little-endian long. */
    public static final long MAGIC = 0x47534853454D4853L;

    public static final int MAJOR_VERSION = 2;
    public static final int MINOR_VERSION = 0;
    public static final int VERSION = (MAJOR_VERSION << 16) | MINOR_VERSION;

    /** Layout kind: one {@code ManyToOneRing}. */
    public static final int KIND_MANY_TO_ONE_RING = 1;
    /** Layout kind: one {@code ManyToManyRing}. */
    public static final int KIND_MANY_TO_MANY_RING = 2;
    /** Layout kind: a counters table, see {@link CountersDescriptor}. */
    public static final int KIND_COUNTERS = 3;
    /** Layout kind: a lease table, see {@link LeaseTableDescriptor}. */
    public static final int KIND_LEASES = 4;

    public static final int MAGIC_OFFSET;
    public static final int VERSION_OFFSET;
    public static final int LAYOUT_KIND_OFFSET;
    public static final int CREATOR_PID_OFFSET;
    public static final int CREATOR_START_TIME_OFFSET;
    public static final int TOTAL_LENGTH_OFFSET;
    /** Bytes the header occupies; the layout-specific region starts here. */
    public static final int LENGTH;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += Long.BYTES;
        VERSION_OFFSET = offset;
        offset += Integer.BYTES;
        LAYOUT_KIND_OFFSET = offset;
        offset += Integer.BYTES;
        CREATOR_PID_OFFSET = offset;
        offset += Long.BYTES;
        CREATOR_START_TIME_OFFSET = offset;
        offset += Long.BYTES;
        TOTAL_LENGTH_OFFSET = offset;
        offset += Long.BYTES;
        LENGTH = RingDescriptor.SLOT_LENGTH;
        if (offset > LENGTH) {
            throw new AssertionError("segment header overflows its slot: " + offset);
        }
    }

    private SegmentHeaderDescriptor() {}

    public static int major(int version) {
        return version >>> 16;
    }

    public static int minor(int version) {
        return version & 0xFFFF;
    }

    public static String kindName(int kind) {
        return switch (kind) {
            case KIND_MANY_TO_ONE_RING -> "many-to-one ring";
            case KIND_MANY_TO_MANY_RING -> "many-to-many ring";
            case KIND_COUNTERS -> "counters";
            case KIND_LEASES -> "lease table";
            default -> "unknown kind " + kind;
        };
    }
}
