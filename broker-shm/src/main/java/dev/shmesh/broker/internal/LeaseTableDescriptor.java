package dev.shmesh.broker.internal;

/**
 * Layout of a lease table's region (after the {@link SegmentHeaderDescriptor segment header}): a table header,
 * then fixed-size lease slots, each holding a copy of the leased message. Offsets relative to the region. No
 * state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |   Slots                       |   Max payload length          |    0  table header slot
 *  +-------------------------------+-------------------------------+
 *  |   Slot length                 |   reserved                    |    8
 *  +-------------------------------+-------------------------------+
 *  |   Generation (long): whose members the holder ids are; 0 none  |   16
 *  +---------------------------------------------------------------+
 *  |   ... to 128                                                  |   24
 *  +---------------------------------------------------------------+
 *  |   Slot 0 ... slot (slots - 1), slot length bytes each         |  128
 *
 *  Slot (slot length = header + max payload, rounded up to 64):
 *  +-------------------------------+-------------------------------+
 *  |   State (low 32 bits)         |   Holder pid (high 32 bits)   |    0  one long, always CAS'd whole
 *  +-------------------------------+-------------------------------+
 *  |   Holder start time, epoch ms (long)                          |    8
 *  +---------------------------------------------------------------+
 *  |   Deadline, CLOCK_MONOTONIC ns (System.nanoTime, host-wide)   |   16
 *  +---------------------------------------------------------------+
 *  |   Request id (long): the first 8 payload bytes                |   24
 *  +-------------------------------+-------------------------------+
 *  |   Type                        |   Payload length              |   32
 *  +-------------------------------+-------------------------------+
 *  |   reserved (long)                                             |   40
 *  +-------------------------------+-------------------------------+
 *  |   Payload ...                                                ...  48
 * </pre>
 *
 * <p>States: FREE (0, holder 0); CLAIMING (reserved by the holder, being filled); LEASED (the holder processes
 * it until the deadline); REAPING (the holder is a reaper re-offering it to the ring).
 */
public final class LeaseTableDescriptor {
    public static final int SLOTS_OFFSET;
    public static final int MAX_PAYLOAD_LENGTH_OFFSET;
    public static final int SLOT_LENGTH_OFFSET;
    public static final int GENERATION_OFFSET;
    public static final int SLOTS_START;

    public static final int OWNER_STATE_OFFSET;
    public static final int OWNER_START_TIME_OFFSET;
    public static final int DEADLINE_OFFSET;
    public static final int REQUEST_ID_OFFSET;
    public static final int TYPE_OFFSET;
    public static final int LENGTH_OFFSET;
    public static final int PAYLOAD_OFFSET;
    public static final int SLOT_ALIGNMENT = 64;

    public static final int FREE = 0;
    public static final int CLAIMING = 1;
    public static final int LEASED = 2;
    public static final int REAPING = 3;

    static {
        int offset = 0;
        SLOTS_OFFSET = offset;
        offset += Integer.BYTES;
        MAX_PAYLOAD_LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        SLOT_LENGTH_OFFSET = offset;
        offset += 2 * Integer.BYTES;
        GENERATION_OFFSET = offset;
        SLOTS_START = RingDescriptor.SLOT_LENGTH;

        offset = 0;
        OWNER_STATE_OFFSET = offset;
        offset += Long.BYTES;
        OWNER_START_TIME_OFFSET = offset;
        offset += Long.BYTES;
        DEADLINE_OFFSET = offset;
        offset += Long.BYTES;
        REQUEST_ID_OFFSET = offset;
        offset += Long.BYTES;
        TYPE_OFFSET = offset;
        offset += Integer.BYTES;
        LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        offset += Long.BYTES; // reserved
        PAYLOAD_OFFSET = offset;
    }

    private LeaseTableDescriptor() {}

    public static int slotLength(int maxPayloadLength) {
        return (PAYLOAD_OFFSET + maxPayloadLength + SLOT_ALIGNMENT - 1) & -SLOT_ALIGNMENT;
    }

    public static long regionLength(int slots, int maxPayloadLength) {
        return SLOTS_START + (long) slots * slotLength(maxPayloadLength);
    }

    /** The CAS word for {@code state} held by {@code pid}. */
    public static long ownerState(long pid, int state) {
        return (pid << 32) | (state & 0xFFFF_FFFFL);
    }

    public static int state(long ownerState) {
        return (int) ownerState;
    }

    public static long owner(long ownerState) {
        return ownerState >>> 32;
    }
}
