package dev.shmesh.service;

import dev.shmesh.grpc.shm.ShmServerBuilder;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ServerBuilder;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The service SDK for a plain grpc-java service: the same {@code main} runs as a replica the gateway spawned, or
 * alone with {@code java -jar}.
 *
 * <pre>{@code
 * MeshService mesh = MeshService.join();                     // the gateway's handshake, or alone
 * Server server = mesh.serverBuilder(9090)                   // shared memory in the mesh, TCP :9090 alone
 *         .addService(new CatalogService(mesh.channel("pricing")))   // stubs to another service
 *         .build().start();
 * mesh.ready(server::shutdown);                              // serving; arms the seccomp filter
 * server.awaitTermination();
 * }</pre>
 *
 * <p>In the mesh (SHMESH_CONTROL_SOCKET set by the gateway) the server serves the connections the gateway makes from
 * the edge and from the services that call this one, and {@link #channel} reaches the replicas of a service this one
 * calls (the mesh file's {@code calls}) — nothing else is reachable: the process has no network. Each caller's
 * identity, as the gateway attested it, is in the server call's attributes ({@code ShmGrpc.PEER_IDENTITY}).
 *
 * <p>Alone, the server is a TCP server from the classpath's gRPC server provider (grpc-netty, for example) and
 * {@link #channel} reads the target of a service from {@code SHMESH_CALL_<SERVICE>} ({@code host:port} or any
 * gRPC target), e.g. {@code SHMESH_CALL_PRICING=localhost:9091}.
 *
 * <p>Thread-safe.
 */
public final class MeshService implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MeshService.class.getName());

    private final WorkerEnvironment env;
    private final ControlChannel control; // null alone
    private final MeshConnections connections = new MeshConnections();
    private final LongAdder served = new LongAdder();
    private final AtomicBoolean ready = new AtomicBoolean();
    private volatile Supplier<Map<String, String>> info = Map::of;

    private MeshService(WorkerEnvironment env, ControlChannel control) {
        this.env = env;
        this.control = control;
    }

    /**
     * Joins the mesh when the gateway spawned this process (the control handshake, so call it first thing in
     * {@code main}); otherwise returns a standalone service. A failed handshake exits the process with code 76
     * (EX_PROTOCOL) after saying why: a replica that cannot reach its gateway has nothing to serve.
     */
    public static MeshService join() {
        WorkerEnvironment env = WorkerEnvironment.current();
        if (!env.inMesh()) {
            return new MeshService(env, null);
        }
        try {
            return join(env, ControlChannel.token(env));
        } catch (IOException e) {
            System.err.printf("shmesh service %s: control handshake with the gateway at %s failed: %s%n"
                    + "  A replica is started by the gateway (./shmesh up -f shmesh.yaml); to run it alone, unset"
                    + " SHMESH_CONTROL_SOCKET.%n", env.instanceId(), env.controlSocket().orElseThrow(), e.getMessage());
            System.exit(76);
            throw new AssertionError(e);
        }
    }

    private static MeshService current;

    /**
     * The process-wide service, joined on first use ({@link #join()}): for integrations that reach the mesh from more
     * than one place (a framework's server and its clients). A {@code main} that calls {@link #join()} itself uses
     * that instead.
     */
    public static synchronized MeshService current() {
        if (current == null) {
            current = join();
        }
        return current;
    }

    /** Joins the mesh at {@code env}'s control socket with {@code token}; for tests and embedders. */
    public static MeshService join(WorkerEnvironment env, String token) throws IOException {
        MeshLogging.installPlain("service", env.instanceId());
        MeshService service = new MeshService(env, ControlChannel.connect(env, token));
        service.control.onConnection(service.connections::accept);
        service.control.requests(service.served::sum);
        service.control.info(() -> service.info.get());
        return service;
    }

    /** Whether this process is a replica the gateway spawned (else it runs alone). */
    public boolean inMesh() {
        return control != null;
    }

    /** Who this process is: its slot in the mesh ({@code catalog-2}) or {@code standalone-<pid>}. */
    public String instanceId() {
        return env.instanceId();
    }

    /** The mesh service this replica belongs to, as the gateway assigned it; empty alone. */
    public Optional<String> service() {
        if (control == null) {
            return Optional.empty();
        }
        String name = control.assign().getService();
        return name.isEmpty() ? env.service() : Optional.of(name);
    }

    /**
     * A server builder: in the mesh, on the shared-memory connections the gateway makes to this replica (a
     * {@link ShmServerBuilder}); alone, on TCP port {@code standalonePort} of every interface, from the
     * classpath's server provider.
     */
    public ServerBuilder<?> serverBuilder(int standalonePort) {
        if (control == null) {
            return Grpc.newServerBuilderForPort(standalonePort, InsecureServerCredentials.create());
        }
        return ShmServerBuilder.forHandedConnections(connections.server());
    }

    /**
     * A channel to the replicas of {@code service}, balanced round-robin, retried on another replica when one dies
     * mid-call ({@link MeshConnections#DEFAULT_SERVICE_CONFIG}). In the mesh only the services this one calls (the
     * mesh file's {@code calls}) have replicas here. Alone, the target comes from {@code SHMESH_CALL_<SERVICE>}.
     */
    public ManagedChannel channel(String service) {
        if (control != null) {
            return connections.channel(service);
        }
        String variable = "SHMESH_CALL_" + service.toUpperCase(Locale.ROOT).replace('-', '_');
        String target = System.getenv(variable);
        if (target == null || target.isBlank()) {
            throw new IllegalStateException("this process runs alone and has no address for service '" + service
                    + "': set " + variable + "=host:port (a gRPC target), or run it in the mesh (./shmesh up -f ...)");
        }
        return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
                .defaultServiceConfig(MeshConnections.DEFAULT_SERVICE_CONFIG).enableRetry().build();
    }

    /** The shared-memory connections of this process, for callers who build servers and channels themselves. */
    public MeshConnections connections() {
        return connections;
    }

    /** Counts one request served (reported in heartbeats and {@code ./shmesh status}). */
    public void served() {
        served.increment();
    }

    /** Service-specific facts for heartbeats and status (key → value); call before {@link #ready}. */
    public void info(Supplier<Map<String, String>> facts) {
        this.info = facts;
    }

    /**
     * Tells the gateway this replica serves, then arms the in-JVM seccomp filter. {@code onStop} runs once when the
     * gateway asks it to stop or drain, or is gone (after a grace of 2 s, for the calls in flight); the process exits
     * after it returns. Alone: does nothing.
     */
    public void ready(Runnable onStop) throws IOException {
        if (control == null || !ready.compareAndSet(false, true)) {
            return;
        }
        InJvmSandbox.armIfAsked(env);
        control.ready(why -> {
            if (why == ControlChannel.Shutdown.GATEWAY_GONE) {
                LOG.warning("control connection lost: the gateway is gone; " + env.instanceId() + " exits in 2 s");
                sleep(Long.getLong("shmesh.worker.orphan-grace-ms", 2000));
            } else {
                LOG.info("the gateway asked " + env.instanceId() + " to " + why.name().toLowerCase(Locale.ROOT));
            }
            try {
                onStop.run();
            } finally {
                connections.shutdownNow();
                System.exit(0);
            }
        });
        LOG.info(env.instanceId() + " ready" + service().map(s -> " (service " + s + ")").orElse(""));
    }

    /** Shuts this process's channels down. */
    @Override
    public void close() {
        connections.shutdownNow();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
