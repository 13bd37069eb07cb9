package dev.shmesh.broker.internal;

/**
 * Layout of a counters segment's region (after the {@link SegmentHeaderDescriptor segment header}): a small
 * table header, then one 256-byte record per ring. Offsets are relative to the region's start. No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |   Max records                 |   Next free record (getAndAdd)|    0  table header slot
 *  +-------------------------------+-------------------------------+
 *  |   ... to 128                                                  |
 *  +-------------------------------+-------------------------------+
 *  |   Record 0 ... record (max - 1), RECORD_LENGTH bytes each     |  128
 *  ...                                                           ...
 *
 *  Record:
 *  +-------------------------------+-------------------------------+
 *  |   State: 0 free, 1 allocated  |   Label length (bytes)        |    0
 *  |   (written last, release)     |                               |
 *  +-------------------------------+-------------------------------+
 *  |   Label, UTF-8, up to 56 bytes                                |    8
 *  ...                                                           ...
 *  +---------------------------------------------------------------+
 *  |   Dequeued (long)       consumer side                         |   64
 *  |   Depth (long, gauge)   consumer side                         |   72
 *  |   Consumer lag (long, gauge) consumer side                    |   80
 *  |   Redelivered (long)    consumer side                         |   88
 *  |   Leases expired (long) consumer side                         |   96
 *  |   ... to 128                                                  |
 *  +---------------------------------------------------------------+
 *  |   Enqueued (long)       producer side                         |  128
 *  |   Back-pressure events (long) producer side                   |  136
 *  |   ... to 256                                                  |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Producer-side and consumer-side counters live in different 128-byte halves so the two sides do not
 * false-share. Counters are written with getAndAdd (many writers) or setRelease (one writer) and read with
 * getAcquire; each is a 64-bit value that only a broken peer makes go backwards.
 */
public final class CountersDescriptor {
    public static final int MAX_RECORDS_OFFSET;
    public static final int NEXT_FREE_OFFSET;
    public static final int RECORDS_OFFSET;

    public static final int RECORD_LENGTH = 256;
    public static final int STATE_OFFSET;
    public static final int LABEL_LENGTH_OFFSET;
    public static final int LABEL_OFFSET;
    public static final int MAX_LABEL_LENGTH = 56;
    public static final int DEQUEUED_OFFSET;
    public static final int DEPTH_OFFSET;
    public static final int CONSUMER_LAG_OFFSET;
    public static final int REDELIVERED_OFFSET;
    public static final int LEASES_EXPIRED_OFFSET;
    public static final int ENQUEUED_OFFSET;
    public static final int BACK_PRESSURE_OFFSET;

    public static final int STATE_FREE = 0;
    public static final int STATE_ALLOCATED = 1;

    /** Counter names in the order of {@link #COUNTER_OFFSETS}. */
    public static final String[] COUNTER_NAMES = {
        "enqueued", "dequeued", "redelivered", "back_pressure_events", "depth", "consumer_lag", "leases_expired"
    };

    static {
        int offset = 0;
        MAX_RECORDS_OFFSET = offset;
        offset += Integer.BYTES;
        NEXT_FREE_OFFSET = offset;
        offset += Integer.BYTES;
        RECORDS_OFFSET = RingDescriptor.SLOT_LENGTH;

        offset = 0;
        STATE_OFFSET = offset;
        offset += Integer.BYTES;
        LABEL_LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        LABEL_OFFSET = offset;
        offset += MAX_LABEL_LENGTH;
        DEQUEUED_OFFSET = offset;
        offset += Long.BYTES;
        DEPTH_OFFSET = offset;
        offset += Long.BYTES;
        CONSUMER_LAG_OFFSET = offset;
        offset += Long.BYTES;
        REDELIVERED_OFFSET = offset;
        offset += Long.BYTES;
        LEASES_EXPIRED_OFFSET = offset;
        offset = RingDescriptor.SLOT_LENGTH;
        ENQUEUED_OFFSET = offset;
        offset += Long.BYTES;
        BACK_PRESSURE_OFFSET = offset;
        offset += Long.BYTES;
        if (offset > RECORD_LENGTH) {
            throw new AssertionError("counters record overflows: " + offset);
        }
    }

    /** Offsets within a record of the counters named by {@link #COUNTER_NAMES}, same order. */
    public static final int[] COUNTER_OFFSETS = {
        ENQUEUED_OFFSET, DEQUEUED_OFFSET, REDELIVERED_OFFSET, BACK_PRESSURE_OFFSET, DEPTH_OFFSET,
        CONSUMER_LAG_OFFSET, LEASES_EXPIRED_OFFSET
    };

    private CountersDescriptor() {}

    /** Bytes of a counters region with {@code maxRecords} records. */
    public static long regionLength(int maxRecords) {
        return RECORDS_OFFSET + (long) maxRecords * RECORD_LENGTH;
    }

    public static long recordOffset(int index) {
        return RECORDS_OFFSET + (long) index * RECORD_LENGTH;
    }
}
