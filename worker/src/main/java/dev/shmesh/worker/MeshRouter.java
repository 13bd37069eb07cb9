package dev.shmesh.worker;

import dev.shmesh.api.control.v1.Route;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import dev.shmesh.service.MeshConnections;
import io.grpc.ManagedChannel;
import dev.shmesh.mesh.RouteTable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Where an edge sends what it does not serve itself: the public services of the mesh, by gRPC service name, as the
 * gateway's Assign listed them ({@link Route}), reached over the shared-memory connections the gateway makes to their
 * replicas. One channel per service, balanced round-robin over its replicas; a call that finds no live replica fails
 * with UNAVAILABLE at once (no waiting for one), and a call whose replica dies before answering is retried on another.
 *
 * <p>Thread-safe; one per edge process ({@link #get}).
 */
final class MeshRouter {
    /**
     * The edge's calls: no waitForReady (a client asking for a service with no live replica hears UNAVAILABLE now),
     * retried on UNAVAILABLE (the replica died mid-call) while the request is still buffered (1 MiB by default).
     */
    static final Map<String, Object> EDGE_SERVICE_CONFIG = Map.of(
            "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())),
            "methodConfig", List.of(Map.of(
                    "name", List.of(Map.of()),
                    "retryPolicy", Map.of("maxAttempts", 3.0, "initialBackoff", "0.005s", "maxBackoff", "0.05s",
                            "backoffMultiplier", 2.0, "retryableStatusCodes", List.of("UNAVAILABLE")))));

    private static volatile MeshRouter instance;

    private static final Logger LOG = Logger.getLogger(MeshRouter.class);

    private final RouteTable routes;
    private final MeshConnections connections = new MeshConnections();
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    private MeshRouter(List<Route> routes) {
        RouteTable.Builder table = RouteTable.builder();
        for (Route r : routes) {
            try {
                r.getGrpcServicesList().forEach(g -> table.grpc(g, r.getService()));
                r.getHttpPrefixesList().forEach(p -> table.http(p, r.getService()));
            } catch (IllegalArgumentException e) {
                // the gateway checked the mesh file; a route that still does not hold is not followed
                LOG.errorf("the gateway sent a route this edge does not follow: %s", e.getMessage());
            }
        }
        this.routes = table.build();
    }

    /** Starts the edge's router on the routes of its Assign. */
    static MeshRouter start(List<Route> routes) {
        MeshRouter router = new MeshRouter(routes);
        instance = router;
        return router;
    }

    /** The router, or null in a worker that runs alone. */
    static MeshRouter get() {
        return instance;
    }

    /** Stops calling services: the edge leaves. Calls in flight fail with UNAVAILABLE. */
    static void stopCalling() {
        MeshRouter r = instance;
        if (r != null) {
            r.connections.shutdownNow();
        }
    }

    /** Whether any gRPC service is routed. */
    boolean routesGrpc() {
        return !routes.grpcServices().isEmpty();
    }

    /**
     * The mesh service owning the gRPC method at HTTP/2 {@code :path} ({@code /pkg.Service/Method}), or empty when
     * the path is not a well-formed gRPC method path or its service is not routed.
     */
    Optional<String> serviceForGrpcPath(String path) {
        return routes.serviceForGrpcPath(path);
    }

    /** The shared-memory connections the gateway hands this edge. */
    MeshConnections connections() {
        return connections;
    }

    /**
     * Reports, for every routed gRPC service name, whether its mesh service has a live replica (its channel is
     * READY: at least one replica connected), now and on every change. Connects to every routed service at once, so
     * that health answers before the first call.
     */
    void watchHealth(java.util.function.BiConsumer<String, Boolean> serving) {
        java.util.Map<String, java.util.List<String>> namesByService = new java.util.LinkedHashMap<>();
        routes.grpcRoutes().forEach((name, service) ->
                namesByService.computeIfAbsent(service, s -> new java.util.ArrayList<>()).add(name));
        namesByService.forEach((service, names) -> watch(channel(service), names, serving));
    }

    private static void watch(ManagedChannel channel, java.util.List<String> names,
            java.util.function.BiConsumer<String, Boolean> serving) {
        io.grpc.ConnectivityState state = channel.getState(true);
        if (state == io.grpc.ConnectivityState.SHUTDOWN) {
            return;
        }
        names.forEach(n -> serving.accept(n, state == io.grpc.ConnectivityState.READY));
        channel.notifyWhenStateChanged(state, () -> watch(channel, names, serving));
    }

    /** The channel to {@code service}'s replicas. */
    ManagedChannel channel(String service) {
        return channels.computeIfAbsent(service, s -> {
            ShmChannelBuilder builder = connections.channelBuilder(s).defaultServiceConfig(EDGE_SERVICE_CONFIG)
                    // the edge forwards bytes; the service enforces its own limit on what it accepts
                    .maxInboundMessageSize(Integer.MAX_VALUE);
            return connections.track(s, builder.build());
        });
    }
}
