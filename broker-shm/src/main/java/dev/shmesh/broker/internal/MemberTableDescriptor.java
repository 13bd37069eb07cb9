package dev.shmesh.broker.internal;

/**
 * Layout of a many-to-many ring's member table: {@link #RECORDS} records after the ring's data area, one per
 * registered producer or consumer, each alone in its 128-byte slot (its owner writes the claim word on every
 * claim or take). Offsets relative to the record's start ({@link #recordOffset}). No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |   Member (long): the owner's mesh member id; 0 = free (CAS)   |    0  record 0
 *  +---------------------------------------------------------------+
 *  |   Claim (long): the position it is claiming or holding; -1    |    8
 *  +-------------------------------+-------------------------------+
 *  |   Role: 1 consumer, 2 producer|   reserved                    |   16
 *  +-------------------------------+-------------------------------+
 *  |   ... to 128                                                  |
 *  +---------------------------------------------------------------+
 *  |   record 1 ... record RECORDS - 1                             |  128
 * </pre>
 *
 * <p>An owner writes its claim (volatile) <em>before</em> it CASes the head (consumer) or tail (producer) to take
 * that position, and clears it once the position is freed (consumer) or published (producer). So when an owner
 * dies, the one position it may hold half-done is named by its claim; a position also named by a live owner's
 * claim of the same role may be that owner's instead (it won the CAS), and is left to it.
 */
public final class MemberTableDescriptor {
    /** Records per ring. */
    public static final int RECORDS = 64;
    public static final int RECORD_LENGTH = RingDescriptor.SLOT_LENGTH;
    public static final int MEMBER_OFFSET;
    public static final int CLAIM_OFFSET;
    public static final int ROLE_OFFSET;
    /** Bytes of the whole table. */
    public static final int LENGTH = RECORDS * RECORD_LENGTH;
    /** The claim word of a record that holds nothing. */
    public static final long NO_CLAIM = -1;
    public static final int ROLE_CONSUMER = 1;
    public static final int ROLE_PRODUCER = 2;

    static {
        int offset = 0;
        MEMBER_OFFSET = offset;
        offset += Long.BYTES;
        CLAIM_OFFSET = offset;
        offset += Long.BYTES;
        ROLE_OFFSET = offset;
    }

    private MemberTableDescriptor() {}

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
