package dev.shmesh.grpc.shm.internal;

import dev.shmesh.broker.IdleStrategy;
import dev.shmesh.broker.Ring;
import dev.shmesh.linux.LinuxException;
import io.grpc.Status;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One established connection ({@link FrameDescriptor}): the outbound ring and its {@link FrameWriter}, the inbound
 * ring and its {@link FrameReader}, and the rendezvous socket that tells when the peer is gone. Its thread reads
 * the inbound ring (spin, then park on the ring's futex), flushes frames that waited for ring space, and reports
 * the end of the connection once to its {@link Listener}.
 *
 * <p>Thread-safety: {@link #write} from any thread; the listener is called on the connection's thread.
 */
final class ShmConnection {
    private static final Logger LOG = Logger.getLogger(ShmConnection.class.getName());
    private static final int POLL_LIMIT = 64;
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long PENDING_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    /** What the connection reports; all on the connection's thread. */
    interface Listener extends FrameReader.Sink {
        /** The connection ended: the peer died, closed, or broke the protocol ({@code status} says which). */
        void connectionClosed(Status status);
    }

    private final Ring inbound;
    private final Ring outbound;
    private final FrameWriter writer;
    private final Closeable socket;
    private final int socketFd;
    private final String peer;
    private final int spins;
    private volatile Listener listener;
    private volatile boolean peerGone;
    private volatile boolean closing;
    private volatile Thread thread;

    ShmConnection(Ring inbound, Ring outbound, Closeable socket, int socketFd, String peer, int spins) {
        this.inbound = inbound;
        this.outbound = outbound;
        this.writer = new FrameWriter(outbound);
        this.socket = socket;
        this.socketFd = socketFd;
        this.peer = peer;
        this.spins = spins;
    }

    /** Starts watching the peer and runs the read loop on the calling thread until the connection ends. */
    void run(Listener listener) {
        this.listener = listener;
        this.thread = Thread.currentThread();
        try {
            PeerWatcher.get().watch(socketFd, this::peerHungUp);
        } catch (LinuxException e) {
            finish(Status.UNAVAILABLE.withDescription("cannot watch the peer's socket: " + e.getMessage()));
            return;
        }
        FrameReader reader = new FrameReader(inbound, listener);
        IdleStrategy idle = IdleStrategy.spinThenPark(inbound, spins, MAX_PARK_NANOS);
        Status end;
        try {
            while (true) {
                int n = reader.poll(POLL_LIMIT);
                if (n < 0) {
                    end = Status.UNAVAILABLE.withDescription("peer " + peer + " closed the connection");
                    break;
                }
                if (writer.hasPending() && !writer.flush()) {
                    end = Status.UNAVAILABLE.withDescription("the ring to peer " + peer + " is closed or fenced");
                    break;
                }
                if (n == 0) {
                    if (closing) {
                        end = Status.UNAVAILABLE.withDescription("connection to " + peer + " closed locally");
                        break;
                    }
                    if (peerGone) {
                        // one more look at the ring: frames the peer wrote before it died still count
                        if (reader.poll(Integer.MAX_VALUE) <= 0) {
                            end = Status.UNAVAILABLE.withDescription("peer " + peer + " is gone (its end of the"
                                    + " connection closed: the process exited or was killed)");
                            break;
                        }
                        continue;
                    }
                    if (writer.hasPending()) {
                        LockSupport.parkNanos(PENDING_PARK_NANOS);
                        continue;
                    }
                }
                idle.idle(n);
            }
        } catch (ProtocolException e) {
            LOG.log(Level.WARNING, "closing the gRPC shm connection to {0}: {1}", new Object[] {peer, e.getMessage()});
            end = Status.UNAVAILABLE.withDescription("connection to " + peer + " closed: protocol error: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.log(Level.SEVERE, "gRPC shm connection to " + peer + " failed", e);
            end = Status.INTERNAL.withDescription("connection to " + peer + " failed: " + e).withCause(e);
        }
        finish(end);
    }

    /**
     * Writes (or queues) one frame.
     *
     * @return false when the connection is broken
     */
    boolean write(int type, int streamId, byte[] body) {
        return writer.write(type, streamId, body);
    }

    /** Ends the connection from this side: the peer sees the ring closed. Idempotent; returns at once. */
    void close() {
        closing = true;
        inbound.wakeConsumers();
        Thread t = thread;
        if (t == null) {
            release();
        }
    }

    String peer() {
        return peer;
    }

    private void peerHungUp() {
        peerGone = true;
        inbound.wakeConsumers();
    }

    private void finish(Status status) {
        release();
        Listener l = listener;
        if (l != null) {
            l.connectionClosed(status);
        }
    }

    private void release() {
        PeerWatcher.get().unwatch(socketFd);
        writer.close();
        outbound.closeRing();
        try {
            socket.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "closing the rendezvous socket", e);
        }
        // the mappings go with the rings (GC-unmapped many-to-one rings); the peer closes its own
    }
}
