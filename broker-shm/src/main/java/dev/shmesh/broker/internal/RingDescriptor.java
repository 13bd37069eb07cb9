package dev.shmesh.broker.internal;

/**
 * Layout of a ring region: a control block of 128-byte slots, then the data area. Offsets are relative to
 * the ring's base (in a ring segment: {@link SegmentHeaderDescriptor#LENGTH}). No state.
 *
 * <p>Every field that is written independently by a different party sits alone in its 128-byte slot (two
 * cache lines: the adjacent-line prefetcher pairs them), so producers and consumers never false-share.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |   Capacity (bytes, 2^n)       |    Max payload length         |    0  config slot (read-mostly)
 *  +-------------------------------+-------------------------------+
 *  |   Slot length (MPMC; 0 MPSC)  |  State: 0 ACTIVE, 1 CLOSED,   |    8
 *  |                               |         2 FENCED (CAS)        |
 *  +-------------------------------+-------------------------------+
 *  |   Fence reason                |    reserved                   |   16
 *  +-------------------------------+-------------------------------+
 *  |   Fence position (long): where the corruption was seen        |   24
 *  +---------------------------------------------------------------+
 *  |   Fencing pid (long)                                          |   32
 *  +---------------------------------------------------------------+
 *  |   ... to 128                                                  |
 *  +---------------------------------------------------------------+
 *  |   Tail position (long): producers CAS                         |  128  tail slot
 *  +---------------------------------------------------------------+
 *  |   Head cache position (long): producers' stale copy of head   |  256  head-cache slot
 *  +---------------------------------------------------------------+
 *  |   Head position (long): consumer(s)                           |  384  head slot
 *  +---------------------------------------------------------------+
 *  |   Sleeping consumers (int): getAndAdd +1 / -1                 |  512  sleepers slot
 *  +---------------------------------------------------------------+
 *  |   Futex word (int): wake sequence, producers getAndAdd        |  640  futex slot
 *  +---------------------------------------------------------------+
 *  |   Data: capacity bytes of records (MPSC, {@link RecordDescriptor})  |  768
 *  |         or capacity / slot length slots (MPMC, {@link SlotDescriptor})|
 *  ...                                                             ...
 * </pre>
 *
 * <p>Positions (tail, head, head cache) are byte counts since creation for MPSC and slot counts for MPMC;
 * they only grow. {@code index = position & (capacity - 1)} (MPSC) or {@code position & (slots - 1)} (MPMC).
 */
public final class RingDescriptor {
    /** Bytes per hot-field slot: two cache lines. */
    public static final int SLOT_LENGTH = 128;

    public static final int CAPACITY_OFFSET;
    public static final int MAX_PAYLOAD_LENGTH_OFFSET;
    public static final int SLOT_LENGTH_OFFSET;
    public static final int STATE_OFFSET;
    public static final int FENCE_REASON_OFFSET;
    public static final int FENCE_POSITION_OFFSET;
    public static final int FENCE_PID_OFFSET;
    public static final int TAIL_OFFSET;
    public static final int HEAD_CACHE_OFFSET;
    public static final int HEAD_OFFSET;
    public static final int SLEEPERS_OFFSET;
    public static final int FUTEX_OFFSET;
    /** Start of the data area; also the length of the control block. */
    public static final int DATA_OFFSET;

    public static final int STATE_ACTIVE = 0;
    public static final int STATE_CLOSED = 1;
    public static final int STATE_FENCED = 2;

    /** Fence reasons, stored at {@link #FENCE_REASON_OFFSET}. */
    public static final int FENCE_BAD_RECORD_LENGTH = 1;
    public static final int FENCE_BAD_RECORD_TYPE = 2;
    public static final int FENCE_BAD_HEAD = 3;
    public static final int FENCE_BAD_TAIL = 4;
    public static final int FENCE_BAD_SLOT_SEQUENCE = 5;
    public static final int FENCE_BAD_COMMIT = 6;
    /** A state word that is none of ACTIVE, CLOSED, FENCED: no ring writes one. */
    public static final int FENCE_BAD_STATE = 7;

    /** Smallest data area. */
    public static final int MIN_CAPACITY = 1024;
    /** Largest data area (positions are longs, indices ints). */
    public static final int MAX_CAPACITY = 1 << 30;

    static {
        int offset = 0;
        CAPACITY_OFFSET = offset;
        offset += Integer.BYTES;
        MAX_PAYLOAD_LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        SLOT_LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        STATE_OFFSET = offset;
        offset += Integer.BYTES;
        FENCE_REASON_OFFSET = offset;
        offset += 2 * Integer.BYTES;
        FENCE_POSITION_OFFSET = offset;
        offset += Long.BYTES;
        FENCE_PID_OFFSET = offset;
        offset += Long.BYTES;
        if (offset > SLOT_LENGTH) {
            throw new AssertionError("config overflows its slot: " + offset);
        }
        offset = SLOT_LENGTH;
        TAIL_OFFSET = offset;
        offset += SLOT_LENGTH;
        HEAD_CACHE_OFFSET = offset;
        offset += SLOT_LENGTH;
        HEAD_OFFSET = offset;
        offset += SLOT_LENGTH;
        SLEEPERS_OFFSET = offset;
        offset += SLOT_LENGTH;
        FUTEX_OFFSET = offset;
        offset += SLOT_LENGTH;
        DATA_OFFSET = offset;
    }

    private RingDescriptor() {}

    /** Bytes a ring region with a data area of {@code capacity} bytes needs. */
    public static long regionLength(int capacity) {
        return (long) DATA_OFFSET + capacity;
    }

    /** Whether {@code capacity} is a power of two within [{@link #MIN_CAPACITY}, {@link #MAX_CAPACITY}]. */
    public static boolean isValidCapacity(long capacity) {
        return capacity >= MIN_CAPACITY && capacity <= MAX_CAPACITY && Long.bitCount(capacity) == 1;
    }

    public static String fenceReasonName(int reason) {
        return switch (reason) {
            case FENCE_BAD_RECORD_LENGTH -> "bad record length";
            case FENCE_BAD_RECORD_TYPE -> "bad record type";
            case FENCE_BAD_HEAD -> "bad head position";
            case FENCE_BAD_TAIL -> "bad tail position";
            case FENCE_BAD_SLOT_SEQUENCE -> "bad slot sequence";
            case FENCE_BAD_COMMIT -> "bad commit (record header changed under its producer)";
            case FENCE_BAD_STATE -> "bad state word";
            default -> "reason " + reason;
        };
    }
}
