package dev.shmesh.grpc.shm.internal;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.StreamListener;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What the client and server streams share: the inbound message queue with {@code request(n)} demand and window
 * acknowledgements, and the outbound window with its queue ({@link FrameDescriptor}, flow control).
 *
 * <p>Thread-safety: state is guarded by {@code this}; listener callbacks go through one {@link
 * SynchronizationContext} per stream, scheduled under the lock and drained outside it, so they never run
 * concurrently nor while a lock is held.
 */
abstract class AbstractShmStream {
    private static final Logger LOG = Logger.getLogger(AbstractShmStream.class.getName());
    static final byte[] EMPTY = new byte[0];

    /** A frame waiting for the window, with what to do once it is written. */
    private record Out(int type, byte[] body, boolean flowControlled, Runnable afterWrite) {}

    final ShmConnection connection;
    final SynchronizationContext sync = new SynchronizationContext(
            (t, e) -> LOG.log(Level.SEVERE, "a gRPC stream listener threw", e));
    final int window;
    volatile int id;

    // guarded by this
    private final ArrayDeque<byte[]> inbound = new ArrayDeque<>();
    private final ArrayDeque<Out> outQueue = new ArrayDeque<>();
    private int requested;
    private long receivedUnacked;
    private int toAck;
    private long sentUnacked;
    private Runnable afterInbound;
    private int inboundSeq;
    private int outboundSeq;
    boolean closed;

    AbstractShmStream(ShmConnection connection, int window) {
        this.connection = connection;
        this.window = window;
    }

    /** The listener to hand messages and {@code onReady} to; set before the first frame arrives. */
    abstract StreamListener listener();

    /** The stream's tracers, told of every message in and out. */
    abstract StatsTraceContext stats();

    /** Ends the stream now (both sides' {@code cancel}). */
    public abstract void cancel(Status status);

    /** The bytes of an outbound message; null (and the stream cancelled) when the marshaller fails. */
    final byte[] outboundBytes(java.io.InputStream message) {
        try {
            return MessageBytes.read(message);
        } catch (java.io.IOException e) {
            cancel(Status.INTERNAL.withDescription("cannot read the message to send: " + e.getMessage()).withCause(e));
            return null;
        }
    }

    /** A MESSAGE frame for this stream, from the connection's thread. */
    final void inboundMessage(byte[] message) throws ProtocolException {
        synchronized (this) {
            if (closed) {
                return;
            }
            if (receivedUnacked >= window) {
                throw new ProtocolException("stream " + id + " received a message with " + receivedUnacked
                        + " bytes unacknowledged, past its window of " + window);
            }
            receivedUnacked += message.length;
            inbound.add(message);
            deliver();
        }
        sync.drain();
    }

    /**
     * Runs {@code action} (a listener callback ending the inbound side: half-close, or the client's closed) once
     * every message before it has been delivered.
     */
    final void afterInbound(Runnable action) {
        synchronized (this) {
            if (closed) {
                return;
            }
            afterInbound = action;
            deliver();
        }
        sync.drain();
    }

    /** The application asks for {@code n} more messages. */
    public final void request(int n) {
        synchronized (this) {
            if (closed) {
                return;
            }
            requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + n);
            deliver();
        }
        sync.drain();
    }

    /** Under the lock: hands queued messages to the listener as far as demand goes; acknowledges them. */
    private void deliver() {
        while (requested > 0 && !inbound.isEmpty()) {
            requested--;
            byte[] m = inbound.poll();
            toAck += m.length;
            StatsTraceContext stats = stats();
            stats.inboundMessage(inboundSeq);
            stats.inboundMessageRead(inboundSeq, m.length, m.length);
            stats.inboundWireSize(m.length);
            stats.inboundUncompressedSize(m.length);
            inboundSeq++;
            sync.executeLater(() -> listener().messagesAvailable(new SingleMessageProducer(m)));
        }
        if (toAck > 0 && toAck >= Math.max(1, window / 4)) {
            // acknowledge in batches: a writer that stopped at its window has at least that much delivered here
            int n = toAck;
            toAck = 0;
            receivedUnacked -= n;
            connection.write(FrameDescriptor.WINDOW_UPDATE, id, FrameBodies.windowUpdate(n));
        }
        if (inbound.isEmpty() && afterInbound != null) {
            sync.executeLater(afterInbound);
            afterInbound = null;
        }
    }

    /**
     * The first {@code onReady} of the stream, once its listener is set: a transport tells a new stream it may send
     * (grpc-java's transports all do). Without it a caller that waits for {@code onReady} before its first message or
     * its half-close, as a proxy does when a call starts before its transport exists, would wait forever.
     */
    final void readyOnStart() {
        synchronized (this) {
            if (!closed && isReadyLocked()) {
                sync.executeLater(() -> listener().onReady());
            }
        }
        sync.drain();
    }

    /** A WINDOW_UPDATE for this stream: sends what waited for it, and calls {@code onReady} if it became ready. */
    final void windowUpdate(int bytes) throws ProtocolException {
        synchronized (this) {
            if (bytes > sentUnacked) {
                throw new ProtocolException("stream " + id + " got a window update of " + bytes
                        + " bytes with only " + sentUnacked + " outstanding");
            }
            boolean wasReady = isReadyLocked();
            sentUnacked -= bytes;
            drainOut();
            if (!wasReady && isReadyLocked()) {
                sync.executeLater(() -> listener().onReady());
            }
        }
        sync.drain();
    }

    /**
     * Sends a frame on this stream, in order after what waits for the window. A MESSAGE ({@code flowControlled})
     * starts only while the outstanding bytes are below the window.
     */
    final void send(int type, byte[] body, boolean flowControlled, Runnable afterWrite) {
        synchronized (this) {
            if (closed) {
                return;
            }
            Out out = new Out(type, body, flowControlled, afterWrite);
            if (outQueue.isEmpty() && (!flowControlled || sentUnacked < window)) {
                writeOut(out);
            } else {
                outQueue.add(out);
            }
        }
        sync.drain();
    }

    private void drainOut() {
        while (!outQueue.isEmpty()) {
            Out head = outQueue.peek();
            if (head.flowControlled && sentUnacked >= window) {
                return;
            }
            outQueue.poll();
            writeOut(head);
        }
    }

    private void writeOut(Out out) {
        if (out.flowControlled) {
            sentUnacked += out.body.length;
            StatsTraceContext stats = stats();
            stats.outboundMessage(outboundSeq);
            stats.outboundMessageSent(outboundSeq, out.body.length, out.body.length);
            stats.outboundWireSize(out.body.length);
            stats.outboundUncompressedSize(out.body.length);
            outboundSeq++;
        }
        connection.write(out.type, id, out.body);
        if (out.afterWrite != null) {
            out.afterWrite.run();
        }
    }

    public final boolean isReady() {
        synchronized (this) {
            return !closed && isReadyLocked();
        }
    }

    private boolean isReadyLocked() {
        return outQueue.isEmpty() && sentUnacked < window;
    }

    /**
     * Under the lock: marks the stream closed, drops both queues and schedules {@code terminal} (the listener's
     * closed). Returns false if it was closed already.
     */
    final boolean closeLocked(Runnable terminal) {
        if (closed) {
            return false;
        }
        closed = true;
        inbound.clear();
        outQueue.clear();
        afterInbound = null;
        sync.executeLater(terminal);
        return true;
    }

    /** Hands one message to grpc-java once. */
    private static final class SingleMessageProducer implements StreamListener.MessageProducer {
        private byte[] message;

        SingleMessageProducer(byte[] message) {
            this.message = message;
        }

        @Override
        public InputStream next() {
            byte[] m = message;
            message = null;
            return m == null ? null : MessageBytes.stream(m);
        }
    }
}
