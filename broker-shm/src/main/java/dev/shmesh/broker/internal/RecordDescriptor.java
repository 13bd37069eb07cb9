package dev.shmesh.broker.internal;

/**
 * Layout of one record in a many-to-one ring's data area. No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |R|                  Length (header + payload)                  |  0
 *  +---------------------------------------------------------------+
 *  |                            Type                               |  4
 *  +---------------------------------------------------------------+
 *  |                      Payload ...                             ...  8
 *  ...  padded with zeros to the next multiple of 8                |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Length: 0 = nothing published here yet (the consumer zeroes what it consumed); negative = claimed, being
 * written (R = the sign bit); positive = published, written last with release semantics. Type: positive for
 * application records, {@link #PADDING_TYPE} for the filler before a wrap and for aborted claims.
 */
public final class RecordDescriptor {
    public static final int ALIGNMENT = 8;
    public static final int LENGTH_OFFSET;
    public static final int TYPE_OFFSET;
    public static final int HEADER_LENGTH;
    /** Skipped by consumers: wrap filler and aborted claims. */
    public static final int PADDING_TYPE = -1;

    static {
        int offset = 0;
        LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        TYPE_OFFSET = offset;
        offset += Integer.BYTES;
        HEADER_LENGTH = offset;
    }

    private RecordDescriptor() {}

    public static int align(int length) {
        return (length + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** The largest payload a ring of {@code capacity} accepts: an eighth of it, less the header. */
    public static int maxPayloadLength(int capacity) {
        return capacity / 8 - HEADER_LENGTH;
    }
}
