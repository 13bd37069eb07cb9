package dev.shmesh.grpc.shm.internal;

import static dev.shmesh.grpc.shm.internal.FrameDescriptor.BODY_LENGTH_OFFSET;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.CONTINUATION_HEADER_LENGTH;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FIRST_HEADER_LENGTH;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FLAGS_OFFSET;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FLAG_CONTINUATION;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.MAX_TYPE;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.STREAM_ID_OFFSET;

import dev.shmesh.broker.MessageHandler;
import dev.shmesh.broker.Ring;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads frames from one inbound ring ({@link FrameDescriptor}) and hands whole frames to a {@link Sink}: the one
 * copy of a body out of shared memory is into the array the sink receives. Every field comes from another process
 * and is checked; a record that breaks the protocol is a {@link ProtocolException} from {@link #poll}.
 *
 * <p>Thread-safety: one thread (the connection's).
 */
final class FrameReader implements MessageHandler {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Where whole frames go. */
    interface Sink {
        /** The longest body this side accepts for a frame of {@code type} on {@code streamId}. */
        int maxBodyLength(int type, int streamId);

        void onFrame(int type, int streamId, byte[] body) throws ProtocolException;

        /** A frame whose announced body exceeded {@link #maxBodyLength}; its records were skipped. */
        void onOversized(int type, int streamId, int bodyLength) throws ProtocolException;
    }

    /** Carries a {@link ProtocolException} through {@link Ring#poll}. */
    private static final class Corrupt extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Corrupt(ProtocolException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    private final Ring ring;
    private final Sink sink;
    // the frame being reassembled, if any
    private int partialType;
    private int partialStream;
    private byte[] partialBody; // null while skipping an oversized frame
    private int partialLength;
    private int partialFilled;
    private boolean inFrame;

    FrameReader(Ring ring, Sink sink) {
        this.ring = ring;
        this.sink = sink;
    }

    /**
     * Reads up to {@code limit} records.
     *
     * @return records read (0 when empty), or -1 when the peer closed the ring
     * @throws ProtocolException when a record breaks the protocol or the ring is fenced
     */
    int poll(int limit) throws ProtocolException {
        int n;
        try {
            n = ring.poll(this, limit);
        } catch (Corrupt e) {
            throw (ProtocolException) e.getCause();
        }
        if (n == Ring.FENCED) {
            throw new ProtocolException("ring fenced: " + ring.fenceReport());
        }
        return n == Ring.CLOSED ? -1 : n;
    }

    @Override
    public void onMessage(int type, MemorySegment buffer, long offset, int length) {
        try {
            read(type, buffer, offset, length);
        } catch (ProtocolException e) {
            throw new Corrupt(e);
        }
    }

    private void read(int type, MemorySegment buffer, long offset, int length) throws ProtocolException {
        if (type < 1 || type > MAX_TYPE) {
            throw new ProtocolException("record of unknown type " + type);
        }
        if (length < CONTINUATION_HEADER_LENGTH) {
            throw new ProtocolException("record of " + length + " bytes is shorter than a frame header");
        }
        int streamId = buffer.get(INT, offset + STREAM_ID_OFFSET);
        int flags = buffer.get(INT, offset + FLAGS_OFFSET);
        if ((flags & ~FLAG_CONTINUATION) != 0) {
            throw new ProtocolException("unknown flags 0x" + Integer.toHexString(flags));
        }
        if ((flags & FLAG_CONTINUATION) != 0) {
            if (!inFrame || type != partialType || streamId != partialStream) {
                throw new ProtocolException("continuation of " + FrameDescriptor.typeName(type) + " on stream "
                        + streamId + " without its first record");
            }
            append(buffer, offset + CONTINUATION_HEADER_LENGTH, length - CONTINUATION_HEADER_LENGTH);
            return;
        }
        if (inFrame) {
            throw new ProtocolException("new " + FrameDescriptor.typeName(type) + " frame before "
                    + FrameDescriptor.typeName(partialType) + " on stream " + partialStream + " was complete");
        }
        if (length < FIRST_HEADER_LENGTH) {
            throw new ProtocolException("first record of " + length + " bytes is shorter than its header");
        }
        int bodyLength = buffer.get(INT, offset + BODY_LENGTH_OFFSET);
        int here = length - FIRST_HEADER_LENGTH;
        if (bodyLength < here) {
            throw new ProtocolException(FrameDescriptor.typeName(type) + " announces " + bodyLength
                    + " body bytes but its first record holds " + here);
        }
        partialType = type;
        partialStream = streamId;
        partialLength = bodyLength;
        partialFilled = 0;
        inFrame = true;
        partialBody = bodyLength > sink.maxBodyLength(type, streamId) ? null : new byte[bodyLength];
        append(buffer, offset + FIRST_HEADER_LENGTH, here);
    }

    private void append(MemorySegment buffer, long from, int n) throws ProtocolException {
        if (n > partialLength - partialFilled) {
            throw new ProtocolException(FrameDescriptor.typeName(partialType) + " on stream " + partialStream
                    + " has more bytes than the " + partialLength + " it announced");
        }
        if (partialBody != null) {
            MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, from, partialBody, partialFilled, n);
        }
        partialFilled += n;
        if (partialFilled < partialLength) {
            return;
        }
        inFrame = false;
        byte[] body = partialBody;
        partialBody = null;
        if (body == null) {
            sink.onOversized(partialType, partialStream, partialLength);
        } else {
            sink.onFrame(partialType, partialStream, body);
        }
    }
}
