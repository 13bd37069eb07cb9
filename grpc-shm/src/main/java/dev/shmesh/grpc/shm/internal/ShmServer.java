package dev.shmesh.grpc.shm.internal;

import dev.shmesh.grpc.shm.HandedConnections;
import dev.shmesh.grpc.shm.PeerAttestor;
import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalInstrumented;
import io.grpc.ServerStreamTracer;
import io.grpc.internal.InternalServer;
import io.grpc.internal.ServerListener;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * Accepts gRPC-over-shared-memory connections on a rendezvous socket. Each accepted socket gets a thread that runs
 * the handshake and then the connection; at most {@code maxHandshakes} handshakes run at once, each bounded by the
 * handshake timeout, so a client that connects and says nothing holds one slot for that long and no more.
 *
 * <p>Thread-safety: {@link #start} and {@link #shutdown} once each, from grpc-java's server.
 */
public final class ShmServer implements InternalServer {
    private static final Logger LOG = Logger.getLogger(ShmServer.class.getName());

    /** What the server builder decided. */
    public record Options(Path socketPath, HandedConnections handed, Set<PosixFilePermission> socketPermissions,
            PeerAttestor attestor,
            int streamWindow, int maxConcurrentStreams, int maxInboundMessageSize, int maxInboundMetadataSize,
            int maxRingCapacity, int spins, int handshakeTimeoutMillis, int maxHandshakes) {}

    private final Options options;
    private final ShmAddress address;
    private final List<? extends ServerStreamTracer.Factory> tracers;
    private final ScheduledExecutorService timer;
    private final Set<ShmServerTransport> transports = ConcurrentHashMap.newKeySet();
    private final Semaphore handshakes;
    private AFUNIXServerSocket socket;
    private ServerListener listener;
    private volatile boolean shutdown;

    public ShmServer(Options options, List<? extends ServerStreamTracer.Factory> tracers, ScheduledExecutorService timer) {
        this.options = options;
        this.address = options.handed() != null ? ShmAddress.named("handed", "server")
                : new ShmAddress(options.socketPath());
        this.tracers = tracers;
        this.timer = timer;
        this.handshakes = new Semaphore(options.maxHandshakes());
    }

    @Override
    public void start(ServerListener listener) throws IOException {
        this.listener = listener;
        if (options.handed() != null) {
            options.handed().bindServer(this::serveHanded);
            return;
        }
        Path path = options.socketPath();
        Files.createDirectories(path.toAbsolutePath().getParent());
        removeStaleSocket(path);
        socket = AFUNIXServerSocket.newInstance();
        socket.bind(AFUNIXSocketAddress.of(path));
        Files.setPosixFilePermissions(path, options.socketPermissions());
        Thread t = new Thread(this::acceptLoop, "shm-grpc-accept " + path.getFileName());
        t.setDaemon(true);
        t.start();
    }

    /** A socket file left by a server that died is removed; one that still answers is somebody's: refuse. */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (AFUNIXSocket probe = AFUNIXSocket.newInstance()) {
            probe.connect(AFUNIXSocketAddress.of(path), 1000);
            throw new IOException("a server is already listening on " + path
                    + "; stop it or choose another socket path");
        } catch (java.net.SocketException e) {
            // nobody listens: a leftover of a server that died
            Files.delete(path);
        }
    }

    private void acceptLoop() {
        while (!shutdown) {
            AFUNIXSocket s;
            try {
                s = socket.accept();
            } catch (IOException e) {
                if (!shutdown) {
                    LOG.log(Level.SEVERE, "accepting on " + address + " failed; the server takes no new connections", e);
                }
                return;
            }
            if (!handshakes.tryAcquire()) {
                LOG.warning("refusing a connection on " + address + ": " + options.maxHandshakes()
                        + " handshakes are already running");
                closeQuietly(s);
                continue;
            }
            Thread t = new Thread(() -> serve(s), "shm-grpc-server " + address.path().getFileName());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(AFUNIXSocket s) {
        Rendezvous.Established est;
        try {
            est = Rendezvous.accept(s, new Rendezvous.Terms(options.streamWindow(), options.maxConcurrentStreams()),
                    options.attestor(), options.handshakeTimeoutMillis(), options.maxRingCapacity());
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "refused a connection on {0}: {1}", new Object[] {address, e.getMessage()});
            return;
        } finally {
            handshakes.release();
        }
        run(est);
    }

    /** A connection the mesh made and handed to this process: served on a thread of its own. */
    private void serveHanded(ShmConnectionEnd end) {
        Rendezvous.Established est;
        try {
            est = Rendezvous.adopt(end, options.maxRingCapacity(), options.maxConcurrentStreams());
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "refused a handed connection from {0}: {1}", new Object[] {end.peer(), e.getMessage()});
            return;
        }
        Thread t = new Thread(() -> run(est), "shm-grpc-server " + end.peer());
        t.setDaemon(true);
        t.start();
    }

    private void run(Rendezvous.Established est) {
        ShmConnection conn = new ShmConnection(est.inbound(), est.outbound(), est.socket(), est.socketFd(),
                est.peer().toString(), options.spins());
        ShmServerTransport transport = new ShmServerTransport(conn, this, est.peer(), est.terms().streamWindow());
        synchronized (this) {
            if (shutdown) {
                conn.close();
                return;
            }
            transports.add(transport);
        }
        transport.run(listener.transportCreated(transport));
    }

    void transportTerminated(ShmServerTransport transport) {
        transports.remove(transport);
    }

    @Override
    public void shutdown() {
        synchronized (this) {
            if (shutdown) {
                return;
            }
            shutdown = true;
        }
        if (options.handed() != null) {
            options.handed().bindServer(null);
        } else {
            try {
                socket.close();
                Files.deleteIfExists(options.socketPath());
            } catch (IOException e) {
                LOG.log(Level.WARNING, "closing " + address, e);
            }
        }
        listener.serverShutdown();
    }

    ShmAddress address() {
        return address;
    }

    int streamWindow() {
        return options.streamWindow();
    }

    int maxConcurrentStreams() {
        return options.maxConcurrentStreams();
    }

    int maxInboundMessageSize() {
        return options.maxInboundMessageSize();
    }

    int maxInboundMetadataSize() {
        return options.maxInboundMetadataSize();
    }

    List<? extends ServerStreamTracer.Factory> streamTracerFactories() {
        return tracers;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    @Override
    public SocketAddress getListenSocketAddress() {
        return address;
    }

    @Override
    public List<? extends SocketAddress> getListenSocketAddresses() {
        return List.of(address);
    }

    @Override
    public InternalInstrumented<SocketStats> getListenSocketStats() {
        return null;
    }

    @Override
    public List<InternalInstrumented<SocketStats>> getListenSocketStatsList() {
        return null;
    }

    private static void closeQuietly(AFUNIXSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do for a refused socket
        }
    }
}
