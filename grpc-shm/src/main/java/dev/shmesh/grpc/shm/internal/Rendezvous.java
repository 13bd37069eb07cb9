package dev.shmesh.grpc.shm.internal;

import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.ShmSegment;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.grpc.shm.PeerAttestor;
import dev.shmesh.grpc.shm.PeerIdentity;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import dev.shmesh.linux.FileDescriptors;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.AFUNIXSocketCredentials;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The handshake on the rendezvous socket ({@link FrameDescriptor}): the client makes both rings and hands them over;
 * the server checks them and the client's kernel credentials. What either side receives is untrusted: every
 * refusal is an {@link IOException} that says what was wrong, and nothing received is kept on failure.
 */
final class Rendezvous {
    /** The server's terms, sent in its answer. */
    record Terms(int streamWindow, int maxConcurrentStreams) {}

    /** A handshake that succeeded: the rings from this side's point of view, and the socket to watch. */
    record Established(ManyToOneRing inbound, ManyToOneRing outbound, Closeable socket, int socketFd,
            Terms terms, PeerIdentity peer) {}

    private Rendezvous() {}

    /** Client side: connects to {@code path}, makes the two rings of {@code ringCapacity} bytes, hands them over. */
    static Established connect(Path path, int ringCapacity, int timeoutMillis) throws IOException {
        AFUNIXSocket socket = AFUNIXSocket.newInstance();
        boolean ok = false;
        ManyToOneRing c2s = null;
        ManyToOneRing s2c = null;
        try {
            socket.connect(AFUNIXSocketAddress.of(path), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            c2s = ManyToOneRing.createAnonymous("grpc-c2s", ringCapacity);
            try {
                s2c = ManyToOneRing.createAnonymous("grpc-s2c", ringCapacity);
            } catch (IOException | RuntimeException e) {
                FileDescriptors.closeQuietly(c2s.segment().anonymousFd());
                throw e;
            }
            try {
                socket.setOutboundFileDescriptors(
                        FileDescriptorCast.unsafeUsing(c2s.segment().anonymousFd()).getFileDescriptor(),
                        FileDescriptorCast.unsafeUsing(s2c.segment().anonymousFd()).getFileDescriptor());
                ByteBuffer hello = ByteBuffer.allocate(FrameDescriptor.HELLO_LENGTH).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(FrameDescriptor.MAGIC).putInt(FrameDescriptor.VERSION).putInt(0);
                socket.getOutputStream().write(hello.array());
                socket.getOutputStream().flush();
            } finally {
                // the peer has its own copies now (or never will): ours are not needed for the mappings
                FileDescriptors.closeQuietly(c2s.segment().anonymousFd());
                FileDescriptors.closeQuietly(s2c.segment().anonymousFd());
            }
            ByteBuffer answer = ByteBuffer.wrap(readFully(socket.getInputStream(), FrameDescriptor.ANSWER_LENGTH,
                    "the server's answer")).order(ByteOrder.LITTLE_ENDIAN);
            if (answer.getLong() != FrameDescriptor.MAGIC) {
                throw new IOException(path + " is not a gRPC shared-memory server (bad magic in its answer)");
            }
            int status = answer.getInt();
            if (status != FrameDescriptor.ANSWER_OK) {
                throw new IOException("the server at " + path + " refused the connection (code " + status + ")");
            }
            Terms terms = new Terms(answer.getInt(), answer.getInt());
            if (terms.streamWindow() <= 0 || terms.maxConcurrentStreams() <= 0) {
                throw new IOException("the server at " + path + " answered impossible terms " + terms);
            }
            socket.setSoTimeout(0);
            AFUNIXSocketCredentials cred = socket.getPeerCredentials();
            PeerIdentity server = new PeerIdentity(null, null, cred.getPid(), (int) cred.getUid(), (int) cred.getGid());
            ok = true;
            return new Established(s2c, c2s, socket, fdOf(socket), terms, server);
        } catch (SocketTimeoutException e) {
            throw new IOException("the server at " + path + " did not answer the handshake within " + timeoutMillis
                    + " ms", e);
        } finally {
            if (!ok) {
                closeRing(c2s);
                closeRing(s2c);
                socket.close();
            }
        }
    }

    /** Server side: reads the hello and the two ring fds from an accepted socket, checks them, answers. */
    static Established accept(AFUNIXSocket socket, Terms terms, PeerAttestor attestor, int timeoutMillis,
            int maxRingCapacity) throws IOException {
        ManyToOneRing c2s = null;
        ManyToOneRing s2c = null;
        boolean ok = false;
        try {
            socket.setSoTimeout(timeoutMillis);
            socket.setAncillaryReceiveBufferSize(256);
            ByteBuffer hello = ByteBuffer.wrap(readFully(socket.getInputStream(), FrameDescriptor.HELLO_LENGTH,
                    "the client's hello")).order(ByteOrder.LITTLE_ENDIAN);
            FileDescriptor[] fds = socket.getReceivedFileDescriptors();
            try {
                if (hello.getLong() != FrameDescriptor.MAGIC) {
                    throw new IOException("bad magic in the hello: not a gRPC shared-memory client");
                }
                int version = hello.getInt();
                if (version != FrameDescriptor.VERSION) {
                    throw new IOException("protocol version " + version + ", this server speaks "
                            + FrameDescriptor.VERSION);
                }
                if (fds == null || fds.length != 2) {
                    throw new IOException("the hello carried " + (fds == null ? 0 : fds.length)
                            + " descriptors, not the 2 rings");
                }
                c2s = attach(fds[0], maxRingCapacity);
                s2c = attach(fds[1], maxRingCapacity);
            } finally {
                if (fds != null) {
                    for (FileDescriptor fd : fds) {
                        // through the FileDescriptor, which then reads as closed: never close a number twice
                        new java.io.FileInputStream(fd).close();
                    }
                }
            }
            AFUNIXSocketCredentials cred = socket.getPeerCredentials();
            PeerIdentity peer = attestor.attest(cred.getPid(), (int) cred.getUid(), (int) cred.getGid());
            ByteBuffer answer = ByteBuffer.allocate(FrameDescriptor.ANSWER_LENGTH).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(FrameDescriptor.MAGIC).putInt(FrameDescriptor.ANSWER_OK)
                    .putInt(terms.streamWindow()).putInt(terms.maxConcurrentStreams());
            socket.getOutputStream().write(answer.array());
            socket.getOutputStream().flush();
            socket.setSoTimeout(0);
            ok = true;
            return new Established(c2s, s2c, socket, fdOf(socket), terms, peer);
        } catch (SocketTimeoutException e) {
            throw new IOException("the client sent no complete hello within " + timeoutMillis + " ms", e);
        } finally {
            if (!ok) {
                closeRing(c2s);
                closeRing(s2c);
                socket.close();
            }
        }
    }

    /**
     * Takes over a connection end made by a third party ({@link ShmConnectionEnd}): checks and maps its rings (and
     * closes their descriptors, which the mappings do not need); the socket becomes the connection's.
     */
    static Established adopt(ShmConnectionEnd end, int maxRingCapacity, int maxConcurrentStreams) throws IOException {
        int[] fds = end.claim();
        ManyToOneRing inbound = null;
        boolean ok = false;
        try {
            inbound = attach(fds[1], maxRingCapacity);
            ManyToOneRing outbound = attach(fds[2], maxRingCapacity);
            ok = true;
            int socketFd = fds[0];
            return new Established(inbound, outbound, () -> FileDescriptors.closeQuietly(socketFd), socketFd,
                    new Terms(end.streamWindow(), maxConcurrentStreams), end.peer());
        } finally {
            FileDescriptors.closeQuietly(fds[1]);
            FileDescriptors.closeQuietly(fds[2]);
            if (!ok) {
                closeRing(inbound);
                FileDescriptors.closeQuietly(fds[0]);
            }
        }
    }

    private static ManyToOneRing attach(FileDescriptor fd, int maxRingCapacity) throws IOException {
        return attach((int) FileDescriptorCast.using(fd).as(Integer.class), maxRingCapacity);
    }

    private static ManyToOneRing attach(int n, int maxRingCapacity) throws IOException {
        ShmSegment segment = ShmSegment.openSealedFd(n, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING);
        ManyToOneRing ring = segment.attachOrClose(ManyToOneRing::attach);
        if (ring.capacity() > maxRingCapacity) {
            ring.close();
            throw new IOException("ring of " + ring.capacity() + " bytes is larger than the " + maxRingCapacity
                    + " this server accepts");
        }
        return ring;
    }

    private static byte[] readFully(InputStream in, int n, String what) throws IOException {
        byte[] b = new byte[n];
        try {
            new DataInputStream(in).readFully(b);
        } catch (EOFException e) {
            throw new IOException("the peer closed the socket before " + what + " was complete", e);
        }
        return b;
    }

    private static int fdOf(AFUNIXSocket socket) throws IOException {
        return FileDescriptorCast.using(socket.getFileDescriptor()).as(Integer.class);
    }

    private static void closeRing(ManyToOneRing ring) {
        if (ring != null) {
            ring.close();
        }
    }
}
