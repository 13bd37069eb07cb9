package dev.shmesh.gateway;

import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Assign;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.FdKind;
import dev.shmesh.api.control.v1.HandedFd;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.Stop;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.jboss.logging.Logger;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.AFUNIXSocketCredentials;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The gateway's end of the control protocol ({@link ControlFrames} has the protocol description):
 * an AF_UNIX stream socket at {@code <run dir>/control.sock}, mode 0600 inside a 0700 directory.
 *
 * <p>Each connection gets a platform thread running a {@link PeerSession}; at most
 * {@code shmesh.control.max-unauthenticated} connections may be waiting to authenticate at once (more are closed at
 * accept), and each must complete its Hello within an absolute deadline ({@code shmesh.control.hello-timeout}) — a
 * peer trickling one byte at a time cannot hold its thread longer than that. A peer is
 * authenticated by SO_PEERCRED (same uid as the gateway; pid = the process the supervisor spawned
 * for that instance id, or a descendant of it) plus the one-time token that process was given.
 * Only then does it receive fds, in exactly one SCM_RIGHTS message on the Assign frame. Every
 * violation closes the connection and is logged with the peer's pid and uid; nothing a peer sends
 * can stop the accept loop or touch another peer.
 */
final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlServer.class);

    private final Path socketPath;
    private final AFUNIXServerSocket server;
    private final Supervisor supervisor;
    private final Listeners listeners;
    private final GatewayConfig.Control config;
    private final long ownUid = PeerCheck.ownUid();
    private final LongAdder rejected = new LongAdder();
    /** Connections that have not yet presented a valid Hello; capped by {@link GatewayConfig.Control#maxUnauthenticated}. */
    private final java.util.concurrent.Semaphore unauthenticated;
    /** Closes a connection whose Hello is not complete by its absolute deadline, however slowly its bytes trickle in. */
    private final java.util.concurrent.ScheduledExecutorService helloDeadlines =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().daemon().name("shmesh-hello-deadline").factory());
    private volatile boolean closed;

    private ControlServer(Path socketPath, AFUNIXServerSocket server, Supervisor supervisor, Listeners listeners,
            GatewayConfig.Control config) {
        this.socketPath = socketPath;
        this.server = server;
        this.supervisor = supervisor;
        this.listeners = listeners;
        this.config = config;
        if (config.maxUnauthenticated() < 1) {
            throw new IllegalStateException("shmesh.control.max-unauthenticated=" + config.maxUnauthenticated()
                    + " must be at least 1");
        }
        this.unauthenticated = new java.util.concurrent.Semaphore(config.maxUnauthenticated());
    }

    /** Binds the control socket (0600) in the run directory ({@link RunDir}: 0700, the gateway's own). */
    static ControlServer open(Path runDir, Supervisor supervisor, Listeners listeners, GatewayConfig.Control config)
            throws IOException {
        Path socketPath = runDir.resolve("control.sock").toAbsolutePath();
        if (Files.exists(socketPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && !Files.readAttributes(socketPath, java.nio.file.attribute.BasicFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IOException(socketPath + " exists and is not a socket: remove it, or choose another --run-dir");
        }
        if (Files.exists(socketPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            // a stale socket from a gateway that died; a live one would still answer
            boolean live;
            try (AFUNIXSocket probe = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socketPath))) {
                live = probe.isConnected();
            } catch (java.net.SocketException stale) {
                live = false;
            }
            if (live) {
                throw new IOException("another gateway is running on " + socketPath
                        + " (stop it, or give this one its own --run-dir)");
            }
            Files.delete(socketPath);
        }
        AFUNIXServerSocket server = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(socketPath), true);
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        return new ControlServer(socketPath, server, supervisor, listeners, config);
    }

    Path socketPath() {
        return socketPath;
    }

    long rejectedPeers() {
        return rejected.sum();
    }

    void start() {
        Thread.ofPlatform().daemon().name("shmesh-control-accept").start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            AFUNIXSocket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.errorf("control socket accept failed: %s", e.getMessage());
                    sleepQuietly(Duration.ofMillis(100));
                }
                continue;
            }
            if (!unauthenticated.tryAcquire()) {
                // a flood of connections that never authenticate must not cost a thread each, nor starve the
                // workers' own connections for longer than one hello timeout
                rejected.increment();
                refusedAtCap.increment();
                if (refusedAtCap.sum() % 100 == 1) {
                    LOG.warnf("control: %d connection(s) refused so far: already %d without a valid Hello"
                                    + " (shmesh.control.max-unauthenticated)", refusedAtCap.sum(),
                            config.maxUnauthenticated());
                }
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // refusing anyway
                }
                continue;
            }
            PeerSession session = new PeerSession(socket);
            session.deadline = helloDeadlines.schedule(session::helloDeadlinePassed,
                    config.helloTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            Thread.ofPlatform().daemon().name("shmesh-control-peer").start(session::run);
        }
    }

    private final LongAdder refusedAtCap = new LongAdder();

    @Override
    public void close() {
        closed = true;
        helloDeadlines.shutdownNow();
        try {
            server.close();
        } catch (IOException e) {
            LOG.debugf("closing control socket: %s", e.getMessage());
        }
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            LOG.warnf("could not remove %s: %s", socketPath, e.getMessage());
        }
    }

    /** One peer connection, from Hello to its end. */
    final class PeerSession {
        private final AFUNIXSocket socket;
        private long peerPid = -1;
        private long peerUid = -1;
        private WorkerSlot slot;
        private OutputStream out;
        /** The absolute Hello deadline; cancelled once authenticated. */
        private volatile java.util.concurrent.ScheduledFuture<?> deadline;
        /** Until true, this session holds one permit of {@link #unauthenticated}; guarded by this. */
        private boolean permitReturned;
        private volatile boolean authenticated;

        /** The Hello deadline passed: a peer that has not authenticated by now is dropped, whatever it is sending. */
        void helloDeadlinePassed() {
            if (!authenticated) {
                reject("no valid Hello within the " + config.helloTimeout().toMillis() + " ms hello timeout");
            }
        }

        private synchronized void returnPermit() {
            if (!permitReturned) {
                permitReturned = true;
                unauthenticated.release();
            }
        }

        PeerSession(AFUNIXSocket socket) {
            this.socket = socket;
        }

        void run() {
            try (socket) {
                AFUNIXSocketCredentials credentials = socket.getPeerCredentials();
                peerPid = credentials.getPid();
                peerUid = credentials.getUid();
                socket.setAncillaryReceiveBufferSize(1024);
                socket.setSoTimeout((int) config.helloTimeout().toMillis());
                InputStream in = socket.getInputStream();
                out = socket.getOutputStream();

                Envelope first = readFrame(in, "Hello");
                if (first == null) {
                    reject("closed the connection before Hello");
                    return;
                }
                String malformed = HelloCheck.refusal(first);
                if (malformed != null) {
                    reject(malformed);
                    return;
                }
                Hello hello = first.getHello();
                if (peerUid != ownUid) {
                    reject("uid " + peerUid + " is not the gateway's uid " + ownUid);
                    return;
                }
                String refusal = supervisor.authenticate(hello, peerPid, this);
                if (refusal != null) {
                    reject(refusal);
                    return;
                }
                authenticated = true;
                deadline.cancel(false);
                returnPermit();
                slot = supervisor.slot(hello.getInstanceId());
                if (slot.role == dev.shmesh.api.control.ProcessRole.BROKER) {
                    sendAssign(List.of(), Map.of());
                    receiveSegments(in);
                } else {
                    // no broker segments: an edge or compute worker talks to others only over the gRPC-over-shm
                    // connections the gateway makes for it (Connection frames), so it holds no other ring
                    sendAssign(slot.role == dev.shmesh.api.control.ProcessRole.EDGE ? listeners.all() : List.of(),
                            Map.of());
                }
                socket.setSoTimeout(0);
                Envelope frame;
                while ((frame = readFrame(in, "Ready/Heartbeat")) != null) {
                    switch (frame.getBodyCase()) {
                        case READY -> supervisor.onReady(slot, this);
                        case HEARTBEAT -> supervisor.onHeartbeat(slot, this, frame.getHeartbeat().getHealth());
                        default -> {
                            reject("unexpected " + frame.getBodyCase() + " from a worker");
                            return;
                        }
                    }
                }
                LOG.debugf("control: %s closed its connection", describe());
            } catch (ControlFrames.ProtocolException e) {
                reject(e.getMessage());
            } catch (SocketTimeoutException e) {
                reject("silent past the " + config.helloTimeout().toMillis() + " ms hello timeout");
            } catch (UnexpectedFdsException e) {
                reject(e.getMessage());
            } catch (IOException e) {
                if (!closed && !rejectedOnce) {
                    LOG.debugf("control: %s connection ended: %s", describe(), e.getMessage());
                }
            } finally {
                deadline.cancel(false);
                returnPermit();
                if (slot != null) {
                    supervisor.onDisconnect(slot, this);
                }
            }
        }

        /**
         * The broker's Segments frame: the one frame a peer may send fds with. Exactly as many fds as
         * names, or the connection is dropped and the fds closed.
         */
        private void receiveSegments(InputStream in) throws IOException {
            Envelope frame = ControlFrames.read(in);
            FileDescriptor[] fds = socket.getReceivedFileDescriptors();
            int got = fds == null ? 0 : fds.length;
            if (frame == null || !frame.hasSegments() || frame.getSegments().getFdsCount() != got || got == 0) {
                dev.shmesh.linux.FileDescriptors.closeAll(fds);
                throw new ControlFrames.ProtocolException("the broker must send Segments with one fd per name, got "
                        + (frame == null ? "end of stream" : frame.getBodyCase()) + " with " + got + " fd(s)");
            }
            Map<String, FileDescriptor> segments = new LinkedHashMap<>();
            for (int i = 0; i < got; i++) {
                segments.put(frame.getSegments().getFds(i).getName(), fds[i]);
            }
            supervisor.onSegments(slot, segments);
        }

        private Envelope readFrame(InputStream in, String expected) throws IOException {
            Envelope frame = ControlFrames.read(in);
            FileDescriptor[] fds = socket.getReceivedFileDescriptors();
            if (fds != null && fds.length > 0) {
                dev.shmesh.linux.FileDescriptors.closeAll(fds);
                throw new UnexpectedFdsException("sent " + fds.length + " fd(s) with " + expected
                        + "; peers never send fds to the gateway");
            }
            return frame;
        }

        private void sendAssign(List<Listeners.Listener> handedListeners, Map<String, FileDescriptor> segments)
                throws IOException {
            List<FileDescriptor> fds = new ArrayList<>();
            Assign.Builder assign = Assign.newBuilder()
                    .setMesh(supervisor.mesh())
                    .setInstanceId(slot.id)
                    .setHeartbeatIntervalMs((int) config.heartbeatInterval().toMillis())
                    .setMember(slot.member)
                    .setGeneration(supervisor.generation());
            switch (slot.role) {
                case EDGE -> assign.addAllRoutes(supervisor.topology().routes());
                case SERVICE -> assign.setService(slot.plan.serviceName());
                default -> { }
            }
            for (Map.Entry<String, FileDescriptor> s : segments.entrySet()) {
                assign.addFds(HandedFd.newBuilder().setName(s.getKey()).setKind(FdKind.FD_KIND_SHM_SEGMENT));
                fds.add(s.getValue());
            }
            for (Listeners.Listener l : handedListeners) {
                assign.addFds(HandedFd.newBuilder()
                        .setName(l.name())
                        .setKind(FdKind.FD_KIND_TCP_LISTENER)
                        .setAddress(l.addressText()));
                fds.add(FileDescriptorCast.unsafeUsing(l.fd()).getFileDescriptor());
            }
            synchronized (this) {
                socket.setOutboundFileDescriptors(fds.toArray(FileDescriptor[]::new));
                ControlFrames.write(out, Envelope.newBuilder().setAssign(assign).build());
            }
            LOG.debugf("control: assigned %d fd(s) to %s", fds.size(), describe());
        }

        /** Broker only: which members are live (see the Members message); false when the connection is gone. */
        boolean sendMembers(long highestAssigned, java.util.Collection<Long> live) {
            try {
                synchronized (this) {
                    ControlFrames.write(out, Envelope.newBuilder().setMembers(
                            dev.shmesh.api.control.v1.Members.newBuilder()
                                    .setHighestAssigned(highestAssigned)
                                    .addAllLive(live)).build());
                }
                return true;
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        /**
         * Hands the peer one end of a gRPC-over-shared-memory connection: the Connection frame with its three fds
         * in one SCM_RIGHTS message. False when the connection is gone; the caller still owns (and closes) the fds.
         */
        boolean sendConnection(dev.shmesh.api.control.v1.Connection connection, int[] fds) {
            try {
                FileDescriptor[] out = new FileDescriptor[fds.length];
                for (int i = 0; i < fds.length; i++) {
                    out[i] = FileDescriptorCast.unsafeUsing(fds[i]).getFileDescriptor();
                }
                synchronized (this) {
                    socket.setOutboundFileDescriptors(out);
                    ControlFrames.write(this.out, Envelope.newBuilder().setConnection(connection).build());
                }
                return true;
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        /** The peer's uid and gid as SO_PEERCRED gave them. */
        long peerUid() {
            return peerUid;
        }

        /** Asks the peer to exit; false when the connection is already gone. */
        boolean sendStop() {
            try {
                synchronized (this) {
                    ControlFrames.write(out, Envelope.newBuilder().setStop(Stop.getDefaultInstance()).build());
                }
                return true;
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already closed
            }
        }

        private volatile boolean rejectedOnce; // set under this

        private void reject(String why) {
            synchronized (this) {
                if (rejectedOnce) {
                    return; // the deadline and the reading thread may both find fault; count the peer once
                }
                rejectedOnce = true;
            }
            rejected.increment();
            LOG.warnf("control: dropped %s: %s", describe(), why);
            close();
        }

        String describe() {
            return "peer pid=" + peerPid + " uid=" + peerUid + (slot == null ? "" : " (" + slot.id + ")");
        }
    }

    private static final class UnexpectedFdsException extends IOException {
        private static final long serialVersionUID = 1L;

        UnexpectedFdsException(String message) {
            super(message);
        }
    }

    private static void sleepQuietly(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
