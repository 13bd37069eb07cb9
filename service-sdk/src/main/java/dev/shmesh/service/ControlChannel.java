package dev.shmesh.service;

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
 * A mesh process's end of the control connection to the gateway (see {@link ControlFrames} for the protocol).
 *
 * <p>{@link #connect} runs Hello → Assign, typically before the application's framework starts, and keeps the
 * received listen fds ({@link #listeners()}) and segment fds ({@link #segments()}). {@link #ready} then reports Ready
 * and starts two daemon threads: one sends heartbeats, one reads gateway commands (Connection, Drain, Stop, Members)
 * and notices the gateway's death (end of stream). The received fds stay open for the life of the process.
 *
 * <p>Thread-safety: set the listeners ({@link #onConnection}, {@link #info}, ...) before {@link #ready}; sends are
 * serialised.
 */
public final class ControlChannel {
    /** What the process does when the gateway asks it to stop or disappears. */
    public enum Shutdown { DRAIN, STOP, GATEWAY_GONE }

    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(15);
    /** Keeps received descriptors reachable: they must never be closed behind Netty's back. */
    private static final List<FileDescriptor> RECEIVED = new ArrayList<>();

    private final AFUNIXSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Assign assign;
    private final Map<String, String> heldFds;
    private final List<HandedListener> listeners;
    private final Map<String, Integer> segments;
    private final String instanceId;
    private volatile java.util.function.LongSupplier requests = () -> 0;
    private long seq;

    private ControlChannel(AFUNIXSocket socket, Assign assign, Map<String, String> heldFds,
            List<HandedListener> listeners, Map<String, Integer> segments, String instanceId) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.assign = assign;
        this.heldFds = heldFds;
        this.listeners = List.copyOf(listeners);
        this.segments = Map.copyOf(segments);
        this.instanceId = instanceId;
    }

    /**
     * The token this process presents in Hello: the one-time token a host-mode gateway wrote into stdin (one line),
     * never on a command line or in the environment where other processes could read it from /proc; in container
     * mode the mesh token ({@code SHMESH_TOKEN}).
     */
    public static String token(WorkerEnvironment env) {
        if (!env.tokenFromStdin()) {
            return env.containerToken();
        }
        StringBuilder token = new StringBuilder();
        try {
            InputStream stdin = new java.io.FileInputStream(FileDescriptor.in);
            for (int c = stdin.read(); c >= 0 && c != '\n' && token.length() < 256; c = stdin.read()) {
                token.append((char) c);
            }
        } catch (IOException e) {
            System.err.println("shmesh: cannot read the spawn token from stdin: " + e.getMessage());
        }
        return token.toString();
    }

    /**
     * Connects to the control socket {@code env} names, authenticates as {@code env}'s instance and role with
     * {@code token} and receives the assigned fds. Fails with a message saying what went wrong.
     */
    public static ControlChannel connect(WorkerEnvironment env, String token) throws IOException {
        Path controlSocket = env.controlSocket().orElseThrow(() -> new IllegalArgumentException(
                "SHMESH_CONTROL_SOCKET is not set: this process was not started by a gateway"));
        String instanceId = env.instanceId();
        AFUNIXSocket socket = connectWithRetry(controlSocket, env.connectTimeout().toMillis());
        try {
            socket.setAncillaryReceiveBufferSize(4096);
            socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            ControlFrames.write(socket.getOutputStream(), Envelope.newBuilder()
                    .setHello(Hello.newBuilder()
                            .setRole(env.role().wire())
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
            List<HandedListener> listeners = new ArrayList<>();
            Map<String, Integer> segments = new LinkedHashMap<>();
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
                    listeners.add(new HandedListener(handed.getName(), fd, handed.getAddress()));
                } else if (handed.getKind() == FdKind.FD_KIND_SHM_SEGMENT) {
                    segments.put(handed.getName(), fd);
                }
                held.put(handed.getName(), Integer.toString(fd));
            }
            socket.setSoTimeout(0);
            return new ControlChannel(socket, assign, held, listeners, segments, instanceId);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Connects to the control socket, retrying while it does not exist or refuses (a gateway that is
     * still starting, e.g. containers started in parallel) for {@code timeoutMs}.
     */
    private static AFUNIXSocket connectWithRetry(Path controlSocket, long timeoutMs) throws IOException {
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

    /** What the gateway assigned: mesh, member id, generation, and for an edge its routes, for a service its name. */
    public Assign assign() {
        return assign;
    }

    /** The listening sockets the gateway handed over, in Assign order (none for most services). */
    public List<HandedListener> listeners() {
        return listeners;
    }

    /** The shared-memory segment fds the gateway handed over, by name (the broker's only). */
    public Map<String, Integer> segments() {
        return segments;
    }

    /** The instance id this process authenticated as. */
    public String instanceId() {
        return instanceId;
    }

    /** What heartbeats report as requests served; set before {@link #ready}. */
    public void requests(java.util.function.LongSupplier served) {
        this.requests = served;
    }

    /**
     * Broker only: hands the gateway its segments, as one Segments frame carrying their fds in one
     * SCM_RIGHTS message.
     */
    public void sendSegments(Map<String, FileDescriptor> segments) throws IOException {
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
    public void info(java.util.function.Supplier<Map<String, String>> info) {
        this.info = info;
    }

    private volatile java.util.function.Supplier<Map<String, String>> info = Map::of;
    private volatile Consumer<dev.shmesh.api.control.v1.Members> members = m -> { };

    private volatile BiConsumer<Connection,
            ShmConnectionEnd> connections = (c, end) -> end.close();

    /**
     * What to do with each connection end the gateway hands over ({@code SIDE_CLIENT}: a replica of
     * {@code Connection.service} to call; {@code SIDE_SERVER}: a caller to serve); set before {@link #ready}. Without
     * it ends are closed. Runs on the control thread: hand the end on, do not block.
     */
    public void onConnection(BiConsumer<Connection,
            ShmConnectionEnd> listener) {
        this.connections = listener;
    }

    /** Broker only: what to do with each Members frame (who is gone); set before {@link #ready}. */
    public void onMembers(Consumer<dev.shmesh.api.control.v1.Members> listener) {
        this.members = listener;
    }

    /** Sends Ready, then heartbeats every interval; {@code onShutdown} runs once on Drain/Stop/gateway death. */
    public void ready(Consumer<Shutdown> onShutdown) throws IOException {
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
                .setInstanceId(instanceId)
                .setPid(ProcessHandle.current().pid())
                .putAllFds(heldFds)
                .setRequests(requests.getAsLong())
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
