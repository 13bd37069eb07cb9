package dev.shmesh.broker.internal;

/**
 * Layout of a many-to-many ring's consumer table: {@link #RECORDS} records after the ring's data area, one per
 * registered consumer, each alone in its 128-byte slot (its consumer writes the claim word on every take).
 * Offsets relative to the table's start ({@link #tableOffset}). No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |   Member (long): the consumer's mesh member id; 0 = free (CAS) |    0  record 0
 *  +---------------------------------------------------------------+
 *  |   Claim (long): the position it is taking or holding; -1 none |    8
 *  +---------------------------------------------------------------+
 *  |   ... to 128                                                  |
 *  +---------------------------------------------------------------+
 *  |   record 1 ... record RECORDS - 1                             |  128
 * </pre>
 *
 * <p>A consumer writes its claim (volatile) <em>before</em> it CASes the head to take that position, and clears
 * it when its poll returns. So when a consumer dies, every position it took but did not release is named by its
 * claim; a position also named by a live consumer's claim may be that consumer's instead (it won the CAS), and
 * is left to it.
 */
public final class ConsumerTableDescriptor {
    /** Consumer records per ring. */
    public static final int RECORDS = 64;
    public static final int RECORD_LENGTH = RingDescriptor.SLOT_LENGTH;
    public static final int MEMBER_OFFSET;
    public static final int CLAIM_OFFSET;
    /** Bytes of the whole table. */
    public static final int LENGTH = RECORDS * RECORD_LENGTH;
    /** The claim word of a record that holds nothing. */
    public static final long NO_CLAIM = -1;

    static {
        int offset = 0;
        MEMBER_OFFSET = offset;
        offset += Long.BYTES;
        CLAIM_OFFSET = offset;
    }

    private ConsumerTableDescriptor() {}

    /** Start of the table relative to the ring's base, for a data area of {@code capacity} bytes. */
    public static long tableOffset(int capacity) {
        long end = RingDescriptor.regionLength(capacity);
        return (end + RECORD_LENGTH - 1) & -RECORD_LENGTH;
    }

    /** Offset of record {@code i} relative to the ring's base. */
    public static long recordOffset(int capacity, int i) {
        return tableOffset(capacity) + (long) i * RECORD_LENGTH;
    }
}
