package dev.shmesh.service.quarkus;

import dev.shmesh.grpc.shm.ShmServerBuilder;
import dev.shmesh.service.MeshService;
import dev.shmesh.service.WorkerEnvironment;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.quarkus.grpc.runtime.config.GrpcClientConfiguration;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.quarkus.grpc.spi.GrpcBuilderProvider;
import io.quarkus.runtime.Application;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.ShutdownContext;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Quarkus's gRPC builder SPI, answered by the mesh: in a replica the gateway spawned ({@code SHMESH_CONTROL_SOCKET}
 * set), the gRPC server Quarkus builds for the app's {@code @GrpcService} beans is a {@code ShmServerBuilder} on the
 * connections the gateway makes to this replica (Quarkus adds its interceptors as usual), and every
 * {@code @GrpcClient} channel is a channel to the replicas of the mesh service its {@code host} names. Outside the
 * mesh it provides nothing, and Quarkus serves and calls over TCP as it always does.
 *
 * <p>Calls are dispatched on a Vert.x event-loop context, as Quarkus's in-process provider does, so that Quarkus's
 * interceptors (request context, {@code @Blocking}) work unchanged. Once Quarkus has started, the replica tells the gateway it is ready and arms its seccomp filter; from then on it
 * has no way to open a socket.
 */
public final class ShmGrpcBuilderProvider implements GrpcBuilderProvider<ShmServerBuilder> {
    private static final Logger LOG = Logger.getLogger(ShmGrpcBuilderProvider.class.getName());
    /** The resolver scheme of the targets Quarkus builds for our channels ({@code shm://<host>:<port>}). */
    static final String SCHEME = "shm";

    private static boolean inMesh() {
        return WorkerEnvironment.current().inMesh();
    }

    @Override
    public boolean providesServer(GrpcServerConfiguration configuration) {
        return inMesh();
    }

    @Override
    @SuppressWarnings("deprecation") // Vertx.nettyEventLoopGroup: what Quarkus's in-process provider dispatches on too
    public ServerBuilder<ShmServerBuilder> createServerBuilder(Vertx vertx, GrpcServerConfiguration configuration,
            LaunchMode mode) {
        ShmServerBuilder builder = ShmServerBuilder.forHandedConnections(MeshService.current().connections().server());
        // calls run on a Vert.x event-loop context, as on Quarkus's own server: its request-context and blocking
        // interceptors need one (a @Blocking service then moves to a worker thread as usual)
        io.vertx.core.impl.VertxInternal internal = (io.vertx.core.impl.VertxInternal) vertx;
        io.vertx.core.impl.ContextInternal context = internal.createEventLoopContext();
        java.util.concurrent.Executor loops = vertx.nettyEventLoopGroup();
        builder.executor(command -> loops.execute(() -> context.dispatch(command)));
        MeshService mesh = MeshService.current();
        builder.intercept(new io.grpc.ServerInterceptor() { // requests served, for the heartbeats and ./shmesh status
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call,
                    io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, R> next) {
                mesh.served();
                return next.startCall(call, headers);
            }
        });
        readyOnceStarted();
        configuration.maxInboundMessageSize().ifPresent(builder::maxInboundMessageSize);
        configuration.maxInboundMetadataSize().ifPresent(builder::maxInboundMetadataSize);
        return builder;
    }

    @Override
    public void startServer(Server server) throws Exception {
        server.start(); // dev mode only: in prod Quarkus's verticle starts the server itself
    }

    @Override
    public void postStartup(Server server, ShutdownContext shutdown) {
        // dev mode only; dev mode runs outside the mesh
    }

    private static final java.util.concurrent.atomic.AtomicBoolean READY_ARMED =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Once the whole app has started, tells the gateway this replica is ready and arms the seccomp filter (not
     * before: Quarkus may still bind its HTTP server). Armed by the first server or channel builder, since Quarkus
     * calls no provider hook after a prod start; the gateway's Stop ends the app.
     */
    private static void readyOnceStarted() {
        if (!READY_ARMED.compareAndSet(false, true)) {
            return;
        }
        Thread.ofPlatform().daemon().name("shmesh-ready").start(() -> {
            while (Application.currentApplication() == null || !Application.currentApplication().isStarted()) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
            try {
                MeshService.current().ready(() -> io.quarkus.runtime.Quarkus.asyncExit(0));
            } catch (java.io.IOException | RuntimeException e) {
                LOG.severe("cannot tell the gateway this replica is ready: " + e);
                io.quarkus.runtime.Quarkus.asyncExit(76);
            }
        });
    }

    @Override
    public void devModeReload(List<ServerServiceDefinition> services, Map<String, ServerMethodDefinition<?, ?>> methods,
            List<ServerInterceptor> interceptors, ShutdownContext shutdown) {
        // dev mode runs outside the mesh
    }

    @Override
    public boolean serverAlreadyExists() {
        return false;
    }

    @Override
    public String serverInfo(String host, int port, GrpcServerConfiguration configuration) {
        return "gRPC on shared memory (shmesh " + MeshService.current().instanceId() + ")";
    }

    @Override
    public boolean providesChannel(GrpcClientConfiguration configuration) {
        return inMesh();
    }

    @Override
    public String resolver() {
        return SCHEME;
    }

    @Override
    public ManagedChannelBuilder<?> createChannelBuilder(GrpcClientConfiguration configuration, String target) {
        String service = serviceOf(target);
        if (service == null || service.equals("localhost")) {
            throw new IllegalStateException("a @GrpcClient in the mesh names the service it calls in its host: set"
                    + " quarkus.grpc.clients.<client>.host=<service of the mesh file> (target was " + target + ")");
        }
        ManagedChannelBuilder<?> builder = MeshService.current().connections().channelBuilder(service);
        readyOnceStarted();
        configuration.maxInboundMessageSize().ifPresent(builder::maxInboundMessageSize);
        configuration.maxInboundMetadataSize().ifPresent(builder::maxInboundMetadataSize);
        return new TrackedChannelBuilder(builder, service);
    }

    /** The host of {@code shm://host:port}, the mesh service; null when the target is not of that form. */
    static String serviceOf(String target) {
        try {
            URI uri = URI.create(target);
            return SCHEME.equals(uri.getScheme()) ? uri.getHost() : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public String channelInfo(GrpcClientConfiguration configuration) {
        return "gRPC on shared memory (shmesh)";
    }
}
