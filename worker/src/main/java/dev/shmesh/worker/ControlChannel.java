package dev.shmesh.worker;

import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Assign;
import dev.shmesh.api.control.v1.Connection;
import dev.shmesh.api.control.v1.ConnectionPeer;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.FdKind;
import dev.shmesh.api.control.v1.HandedFd;
import dev.shmesh.api.control.v1.Heartbeat;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.PeerHealth;
import dev.shmesh.api.control.v1.Ready;
import dev.shmesh.api.control.v1.Role;
import dev.shmesh.grpc.shm.PeerIdentity;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import dev.shmesh.linux.ListenSocket;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The worker's end of the control connection (see {@link ControlFrames} for the protocol).
 *
 * <p>{@link #connect} runs Hello → Assign before Quarkus starts and registers the received listen
 * fds in {@link HandedListeners}. {@link #ready} then reports Ready and starts two daemon threads:
 * one sends heartbeats, one reads gateway commands (Drain, Stop, Members) and notices the gateway's death
 * (end of stream). The received fds stay open for the life of the process.
 */
final class ControlChannel {
    /** What the worker does when the gateway asks it to stop or disappears. */
    enum Shutdown { DRAIN, STOP, GATEWAY_GONE }

    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(15);
    /** Keeps received descriptors reachable: they must never be closed behind Netty's back. */
    private static final List<FileDescriptor> RECEIVED = new ArrayList<>();

    private final AFUNIXSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Assign assign;
    private final Map<String, String> heldFds;
    private long seq;

    private ControlChannel(AFUNIXSocket socket, Assign assign, Map<String, String> heldFds) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.assign = assign;
        this.heldFds = heldFds;
    }

    /** Connects, authenticates and receives the assigned fds. Fails with a message saying what went wrong. */
    static ControlChannel connect(Path controlSocket, String instanceId, String token, Role role) throws IOException {
        AFUNIXSocket socket = connectWithRetry(controlSocket);
        try {
            socket.setAncillaryReceiveBufferSize(4096);
            socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            ControlFrames.write(socket.getOutputStream(), Envelope.newBuilder()
                    .setHello(Hello.newBuilder()
                            .setRole(role)
                            .setInstanceId(instanceId)
                            .setProtocolVersion(ControlFrames.PROTOCOL_VERSION)
                            .setToken(token))
                    .build());
            Envelope reply;
            try {
                reply = ControlFrames.read(socket.getInputStream());
            } catch (SocketTimeoutException e) {
                throw new IOException("the gateway did not answer Hello within " + HANDSHAKE_TIMEOUT.toSeconds() + "s");
            }
            FileDescriptor[] fds = socket.getReceivedFileDescriptors();
            if (reply == null) {
                throw new IOException("the gateway closed the control connection after Hello"
                        + " (authentication refused; see the gateway log for the reason)");
            }
            if (!reply.hasAssign()) {
                dev.shmesh.linux.FileDescriptors.closeAll(fds);
                throw new ControlFrames.ProtocolException("expected Assign, got " + reply.getBodyCase());
            }
            Assign assign = reply.getAssign();
            int expected = assign.getFdsCount();
            int got = fds == null ? 0 : fds.length;
            if (got != expected) {
                dev.shmesh.linux.FileDescriptors.closeAll(fds);
                throw new ControlFrames.ProtocolException("Assign lists " + expected + " fds but " + got + " arrived");
            }
            Map<String, String> held = new LinkedHashMap<>();
            for (int i = 0; i < expected; i++) {
                HandedFd handed = assign.getFds(i);
                int fd = FileDescriptorCast.using(fds[i]).as(Integer.class);
                synchronized (RECEIVED) {
                    RECEIVED.add(fds[i]);
                }
                if (handed.getKind() == FdKind.FD_KIND_TCP_LISTENER) {
                    if (!ListenSocket.isInetSocket(fd) || !ListenSocket.isListening(fd)) {
                        throw new ControlFrames.ProtocolException(
                                "handed fd '" + handed.getName() + "' (" + fd + ") is not a listening TCP socket");
                    }
                    HandedListeners.add(new HandedListeners.Listener(handed.getName(), fd, handed.getAddress()));
                } else if (handed.getKind() == FdKind.FD_KIND_SHM_SEGMENT) {
                    HandedSegments.add(handed.getName(), fd);
                }
                held.put(handed.getName(), Integer.toString(fd));
            }
            socket.setSoTimeout(0);
            return new ControlChannel(socket, assign, held);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Connects to the control socket, retrying while it does not exist or refuses (a gateway that is
     * still starting, e.g. containers started in parallel) for SHMESH_CONNECT_TIMEOUT_MS (30 s).
     */
    private static AFUNIXSocket connectWithRetry(Path controlSocket) throws IOException {
        long timeoutMs = Long.parseLong(System.getenv().getOrDefault("SHMESH_CONNECT_TIMEOUT_MS", "30000"));
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (true) {
            AFUNIXSocket socket = AFUNIXSocket.newInstance();
            try {
                socket.connect(AFUNIXSocketAddress.of(controlSocket));
                return socket;
            } catch (java.net.SocketException e) {
                socket.close();
                if (System.nanoTime() > deadline) {
                    throw new IOException("cannot connect to the gateway's control socket " + controlSocket + " within "
                            + timeoutMs + " ms: " + e.getMessage() + " (is the gateway running, and is its run directory"
                            + " shared with this worker?)", e);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while connecting to " + controlSocket, ie);
                }
            }
        }
    }

    Assign assign() {
        return assign;
    }

    /**
     * Broker only: hands the gateway its segments, as one Segments frame carrying their fds in one
     * SCM_RIGHTS message.
     */
    void sendSegments(Map<String, FileDescriptor> segments) throws IOException {
        dev.shmesh.api.control.v1.Segments.Builder frame = dev.shmesh.api.control.v1.Segments.newBuilder();
        segments.keySet().forEach(name -> frame.addFds(HandedFd.newBuilder()
                .setName(name)
                .setKind(FdKind.FD_KIND_SHM_SEGMENT)));
        synchronized (this) {
            socket.setOutboundFileDescriptors(segments.values().toArray(FileDescriptor[]::new));
            ControlFrames.write(out, Envelope.newBuilder().setSegments(frame).build());
        }
    }

    /** Role-specific facts for heartbeats (jobs done, fenced rings...); set before {@link #ready}. */
    void info(java.util.function.Supplier<Map<String, String>> info) {
        this.info = info;
    }

    private volatile java.util.function.Supplier<Map<String, String>> info = Map::of;
    private volatile Consumer<dev.shmesh.api.control.v1.Members> members = m -> { };

    private volatile BiConsumer<Connection,
            ShmConnectionEnd> connections = (c, end) -> end.close();

    /**
     * What to do with each connection end the gateway hands over (edge: a compute worker to call; compute: an edge
     * worker to serve); set before {@link #ready}. Without it ends are closed.
     */
    void onConnection(BiConsumer<Connection,
            ShmConnectionEnd> listener) {
        this.connections = listener;
    }

    /** Broker only: what to do with each Members frame (who is gone); set before {@link #ready}. */
    void onMembers(Consumer<dev.shmesh.api.control.v1.Members> listener) {
        this.members = listener;
    }

    /** Sends Ready, then heartbeats every interval; {@code onShutdown} runs once on Drain/Stop/gateway death. */
    void ready(Consumer<Shutdown> onShutdown) throws IOException {
        send(Envelope.newBuilder()
                .setReady(Ready.newBuilder().addAllServing(heldFds.keySet()))
                .build());
        long interval = Math.max(100, assign.getHeartbeatIntervalMs());
        Thread.ofPlatform().daemon().name("shmesh-heartbeat").start(() -> heartbeatLoop(interval));
        Thread.ofPlatform().daemon().name("shmesh-control").start(() -> commandLoop(onShutdown));
    }

    private void heartbeatLoop(long intervalMs) {
        try {
            while (!socket.isClosed()) {
                send(Envelope.newBuilder()
                        .setHeartbeat(Heartbeat.newBuilder().setSeq(++seq).setHealth(health()))
                        .build());
                Thread.sleep(intervalMs);
            }
        } catch (IOException | InterruptedException e) {
            // the command loop sees the closed connection and decides what to do
        }
    }

    PeerHealth health() {
        return PeerHealth.newBuilder()
                .setInstanceId(WorkerIdentity.id())
                .setPid(ProcessHandle.current().pid())
                .putAllFds(heldFds)
                .setRequests(WorkerIdentity.requests())
                .putAllSandbox(sandboxState())
                .setRssBytes(rssBytes())
                .putAllInfo(info.get())
                .build();
    }

    private Map<String, String> sandboxCache;
    private long sandboxCacheSeq = -100;

    /** The self-check (capabilities, no_new_privs, seccomp on every thread, namespaces), refreshed every 10 beats. */
    private Map<String, String> sandboxState() {
        if (sandboxCache == null || seq - sandboxCacheSeq >= 10) {
            Map<String, String> state = new LinkedHashMap<>();
            dev.shmesh.sandbox.SandboxReport.ofThisProcess().toMap().forEach((k, v) -> state.put(k, String.valueOf(v)));
            sandboxCache = state;
            sandboxCacheSeq = seq;
        }
        return sandboxCache;
    }

    /** Resident set size in bytes (VmRSS), or -1 when unreadable. */
    private static long rssBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private void commandLoop(Consumer<Shutdown> onShutdown) {
        Shutdown why = Shutdown.GATEWAY_GONE;
        try {
            Envelope command;
            while ((command = ControlFrames.read(in)) != null) {
                FileDescriptor[] fds = socket.getReceivedFileDescriptors();
                if (command.hasConnection()) {
                    connection(command.getConnection(), fds);
                    continue;
                }
                if (fds != null && fds.length > 0) {
                    dev.shmesh.linux.FileDescriptors.closeAll(fds);
                    java.util.logging.Logger.getLogger(ControlChannel.class.getName()).warning(
                            "the gateway sent " + fds.length + " fd(s) with " + command.getBodyCase() + "; closed them");
                }
                if (command.hasDrain()) {
                    why = Shutdown.DRAIN;
                    break;
                }
                if (command.hasStop()) {
                    why = Shutdown.STOP;
                    break;
                }
                if (command.hasMembers()) {
                    try {
                        members.accept(command.getMembers());
                    } catch (RuntimeException e) {
                        // the broker's duty failed on this round; the next frame or timer round retries
                        java.util.logging.Logger.getLogger(ControlChannel.class.getName())
                                .warning("handling Members failed: " + e);
                    }
                }
            }
        } catch (IOException e) {
            why = Shutdown.GATEWAY_GONE;
        }
        onShutdown.accept(why);
    }

    /** A Connection frame: exactly three fds (socket, inbound ring, outbound ring), or it is dropped. */
    private void connection(Connection c, FileDescriptor[] fds) {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(ControlChannel.class.getName());
        if (fds == null || fds.length != 3) {
            dev.shmesh.linux.FileDescriptors.closeAll(fds);
            log.warning("the gateway sent a Connection to " + c.getReplica() + " with " + (fds == null ? 0 : fds.length)
                    + " fd(s), not 3; dropped");
            return;
        }
        try {
            int[] n = new int[3];
            for (int i = 0; i < 3; i++) {
                n[i] = FileDescriptorCast.using(fds[i]).as(Integer.class);
            }
            ConnectionPeer p = c.getPeer();
            ShmConnectionEnd end = ShmConnectionEnd.adopt(n[0], n[1], n[2],
                    new PeerIdentity(p.getService(), p.getWorker(), p.getPid(), p.getUid(),
                            p.getGid()));
            connections.accept(c, end);
        } catch (IOException | RuntimeException e) {
            log.warning("cannot take the connection to " + c.getReplica() + ": " + e);
        }
    }

    private synchronized void send(Envelope envelope) throws IOException {
        ControlFrames.write(out, envelope);
    }
}
