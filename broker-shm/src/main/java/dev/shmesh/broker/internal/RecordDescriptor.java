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

    static {
        // the header is also read and written as one native-order long: length in the low half, type in the high
        if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("shmesh rings need a little-endian CPU (x86_64, aarch64)");
        }
    }

    private RecordDescriptor() {}

    /** The header as one little-endian long. */
    public static long header(int length, int type) {
        return ((long) type << 32) | (length & 0xFFFF_FFFFL);
    }

    public static int length(long header) {
        return (int) header;
    }

    public static int type(long header) {
        return (int) (header >> 32);
    }

    public static int align(int length) {
        return (length + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** The largest payload a ring of {@code capacity} accepts: an eighth of it, less the header. */
    public static int maxPayloadLength(int capacity) {
        return capacity / 8 - HEADER_LENGTH;
    }
}
