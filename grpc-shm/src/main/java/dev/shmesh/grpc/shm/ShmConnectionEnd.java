package dev.shmesh.grpc.shm;

import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.SocketPair;
import java.io.Closeable;
import java.io.IOException;

/**
 * One end of a gRPC-over-shared-memory connection that a third party made for two processes: in the mesh, the
 * gateway makes both ends ({@link #pair}), sends each process its end's descriptors with SCM_RIGHTS together with
 * the identity of the process at the other end, which it knows from its own authenticated handshake with both. The
 * receiving process rebuilds its end with {@link #adopt} and hands it to {@link HandedConnections}. So neither
 * process connects anywhere, and neither can claim to be someone else.
 *
 * <p>Owns its three descriptors until {@link #close()} or until a connection takes them over.
 */
public final class ShmConnectionEnd implements Closeable {
    private final int socketFd;
    private final int inboundRingFd;
    private final int outboundRingFd;
    private final PeerIdentity peer;
    private final int streamWindow;
    private boolean taken;

    private ShmConnectionEnd(int socketFd, int inboundRingFd, int outboundRingFd, PeerIdentity peer, int streamWindow) {
        this.socketFd = socketFd;
        this.inboundRingFd = inboundRingFd;
        this.outboundRingFd = outboundRingFd;
        this.peer = peer;
        this.streamWindow = streamWindow;
    }

    /** Both ends of a new connection. */
    public record Pair(ShmConnectionEnd client, ShmConnectionEnd server) {}

    /**
     * Makes a connection: a socket pair (for liveness only) and two rings of {@code ringCapacity} bytes in sealed
     * memfds. The client's end names {@code server} as its peer and the server's end names {@code client}.
     */
    public static Pair pair(int ringCapacity, PeerIdentity client, PeerIdentity server) throws IOException {
        int[] sockets = SocketPair.stream();
        ManyToOneRing c2s = null;
        ManyToOneRing s2c = null;
        try {
            c2s = ManyToOneRing.createAnonymous("grpc-c2s", ringCapacity);
            s2c = ManyToOneRing.createAnonymous("grpc-s2c", ringCapacity);
            int c2sClient = c2s.segment().anonymousFd();
            int s2cClient = s2c.segment().anonymousFd();
            int c2sServer = FileDescriptors.dupCloexec(c2sClient);
            int s2cServer = FileDescriptors.dupCloexec(s2cClient);
            int window = ShmGrpc.DEFAULT_STREAM_WINDOW;
            return new Pair(new ShmConnectionEnd(sockets[0], s2cClient, c2sClient, server, window),
                    new ShmConnectionEnd(sockets[1], c2sServer, s2cServer, client, window));
        } catch (IOException | RuntimeException e) {
            FileDescriptors.closeQuietly(sockets[0]);
            FileDescriptors.closeQuietly(sockets[1]);
            if (c2s != null) {
                FileDescriptors.closeQuietly(c2s.segment().anonymousFd());
            }
            if (s2c != null) {
                FileDescriptors.closeQuietly(s2c.segment().anonymousFd());
            }
            throw e;
        }
    }

    /**
     * Takes over descriptors received from the party that made the connection: its socket, the ring this end
     * reads, the ring it writes, and the peer that party attested. The rings are checked when the end is used.
     */
    public static ShmConnectionEnd adopt(int socketFd, int inboundRingFd, int outboundRingFd, PeerIdentity peer) {
        if (socketFd < 0 || inboundRingFd < 0 || outboundRingFd < 0) {
            throw new IllegalArgumentException("socketFd=" + socketFd + ", inboundRingFd=" + inboundRingFd
                    + ", outboundRingFd=" + outboundRingFd + " must not be negative");
        }
        return new ShmConnectionEnd(socketFd, inboundRingFd, outboundRingFd, peer, ShmGrpc.DEFAULT_STREAM_WINDOW);
    }

    /** The descriptors to send to the process this end is for, in {@link #adopt}'s order: socket, inbound, outbound. */
    public int[] fds() {
        return new int[] {socketFd, inboundRingFd, outboundRingFd};
    }

    /** The process at the other end, as the maker of the connection attested it. */
    public PeerIdentity peer() {
        return peer;
    }

    /** Bytes a stream may have unacknowledged in each direction on this connection. */
    public int streamWindow() {
        return streamWindow;
    }

    /**
     * Hands the descriptors ({@link #fds()}) over to the transport that runs the connection: from now on they are
     * its to close, and {@link #close()} leaves them. Once only.
     */
    public synchronized int[] claim() {
        if (taken) {
            throw new IllegalStateException("this connection end was used already");
        }
        taken = true;
        return fds();
    }

    /** Closes the descriptors unless a connection took them over (e.g. after sending them to another process). */
    @Override
    public synchronized void close() {
        if (taken) {
            return;
        }
        taken = true;
        FileDescriptors.closeQuietly(socketFd);
        FileDescriptors.closeQuietly(inboundRingFd);
        FileDescriptors.closeQuietly(outboundRingFd);
    }

    @Override
    public String toString() {
        return "ShmConnectionEnd[peer " + peer + ", fds " + socketFd + "/" + inboundRingFd + "/" + outboundRingFd + "]";
    }
}
