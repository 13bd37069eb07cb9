package dev.shmesh.grpc.shm.internal;

import static dev.shmesh.grpc.shm.internal.FrameDescriptor.BODY_LENGTH_OFFSET;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.CONTINUATION_HEADER_LENGTH;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FIRST_HEADER_LENGTH;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FLAGS_OFFSET;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.FLAG_CONTINUATION;
import static dev.shmesh.grpc.shm.internal.FrameDescriptor.STREAM_ID_OFFSET;

import dev.shmesh.broker.Ring;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;

/**
 * Writes frames into one outbound ring ({@link FrameDescriptor}): fragments a body over as many records as it
 * needs, and when the ring is full keeps the rest, and every later frame, in a queue that {@link #flush()} (the
 * connection's thread) writes out as the reader frees space. Frames are never interleaved. Never blocks.
 *
 * <p>Thread-safety: every method may be called from any thread; frames are written in the order of the calls.
 */
final class FrameWriter {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** A frame not yet wholly in the ring: {@code written} body bytes of it are. */
    private static final class Pending {
        final int type;
        final int streamId;
        final byte[] body;
        int written;
        boolean started;

        Pending(int type, int streamId, byte[] body) {
            this.type = type;
            this.streamId = streamId;
            this.body = body;
        }
    }

    private final Ring ring;
    private final int maxRecordPayload;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private volatile boolean hasPending;
    private boolean broken;

    FrameWriter(Ring ring) {
        this.ring = ring;
        this.maxRecordPayload = ring.maxPayloadLength();
    }

    /**
     * Writes (or queues) one frame. {@code body} is not copied: the caller must not change it afterwards.
     *
     * @return false if the ring is closed or fenced: the connection is broken
     */
    boolean write(int type, int streamId, byte[] body) {
        synchronized (this) {
            if (broken) {
                return false;
            }
            Pending frame = new Pending(type, streamId, body);
            if (pending.isEmpty() && writeSome(frame)) {
                return true;
            }
            if (broken) {
                return false;
            }
            pending.add(frame);
            hasPending = true;
            return true;
        }
    }

    /** Whether frames wait for ring space; cheap, for the connection loop. */
    boolean hasPending() {
        return hasPending;
    }

    /**
     * Writes queued frames while the ring has room.
     *
     * @return false if the ring is closed or fenced
     */
    boolean flush() {
        synchronized (this) {
            while (!pending.isEmpty()) {
                if (!writeSome(pending.peek())) {
                    return !broken;
                }
                pending.poll();
            }
            hasPending = false;
            return !broken;
        }
    }

    /** Drops the queue; later writes fail. */
    synchronized void close() {
        broken = true;
        pending.clear();
        hasPending = false;
    }

    /** Writes records of {@code f} until it is complete (true) or the ring is full or broken (false). */
    private boolean writeSome(Pending f) {
        byte[] body = f.body;
        while (!f.started || f.written < body.length) {
            int header = f.started ? CONTINUATION_HEADER_LENGTH : FIRST_HEADER_LENGTH;
            int chunk = Math.min(body.length - f.written, maxRecordPayload - header);
            int index = ring.tryClaim(f.type, header + chunk);
            if (index < 0) {
                if (index != Ring.BACK_PRESSURED) {
                    broken = true;
                }
                return false;
            }
            MemorySegment buffer = ring.buffer();
            buffer.set(INT, index + STREAM_ID_OFFSET, f.streamId);
            buffer.set(INT, index + FLAGS_OFFSET, f.started ? FLAG_CONTINUATION : 0);
            if (!f.started) {
                buffer.set(INT, index + BODY_LENGTH_OFFSET, body.length);
            }
            MemorySegment.copy(body, f.written, buffer, ValueLayout.JAVA_BYTE, index + header, chunk);
            ring.commit(index);
            f.started = true;
            f.written += chunk;
        }
        return true;
    }
}
