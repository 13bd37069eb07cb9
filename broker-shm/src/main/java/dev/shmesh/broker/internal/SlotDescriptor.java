package dev.shmesh.broker.internal;

/**
 * Layout of one fixed-size slot in a many-to-many ring's data area (a bounded queue after Dmitry Vyukov's
 * sequence-per-slot design). No state.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |            Sequence (long): the slot's turn, see below         |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       Payload length                          |  8
 *  +---------------------------------------------------------------+
 *  |                            Type                               | 12
 *  +---------------------------------------------------------------+
 *  |                 Payload (max payload length) ...             ... 16
 *  ...  rounded up so that the slot length is a multiple of 8      |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Slot {@code i} starts with sequence {@code i}. For position {@code p} (slot {@code p & (slots-1)}):
 * sequence {@code == p} — free for the producer that claims {@code p} (CAS on tail); {@code == p + 1} —
 * published (written last, release) for the consumer that claims {@code p} (CAS on head), which frees it by
 * writing {@code p + slots}. The sequence is the MPMC ring's "published last" word; length and type are
 * written before it.
 */
public final class SlotDescriptor {
    public static final int SEQUENCE_OFFSET;
    public static final int LENGTH_OFFSET;
    public static final int TYPE_OFFSET;
    public static final int HEADER_LENGTH;

    static {
        int offset = 0;
        SEQUENCE_OFFSET = offset;
        offset += Long.BYTES;
        LENGTH_OFFSET = offset;
        offset += Integer.BYTES;
        TYPE_OFFSET = offset;
        offset += Integer.BYTES;
        HEADER_LENGTH = offset;
    }

    private SlotDescriptor() {}

    /** Slot length for payloads of up to {@code maxPayloadLength} bytes: header plus payload, 8-aligned. */
    public static int slotLength(int maxPayloadLength) {
        return RecordDescriptor.align(HEADER_LENGTH + maxPayloadLength);
    }
}
