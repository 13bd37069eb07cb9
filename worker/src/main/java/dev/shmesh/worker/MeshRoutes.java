package dev.shmesh.worker;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Installs the edge's forwarding of routed gRPC services ahead of every other route, when the mesh has any, and
 * makes the edge's {@code grpc.health.v1} answer for each of them.
 */
@ApplicationScoped
public class MeshRoutes {
    /** Before Quarkus's own gRPC route, which answers UNIMPLEMENTED for services this process does not serve. */
    static final int ORDER = -1_000_000;

    void install(@Observes Router router, Vertx vertx,
            jakarta.enterprise.inject.Instance<io.quarkus.grpc.runtime.health.GrpcHealthStorage> health) {
        MeshRouter mesh = MeshRouter.get();
        if (mesh == null || !mesh.routesGrpc()) {
            return;
        }
        GrpcForwarder forwarder = new GrpcForwarder(vertx, mesh);
        router.route().order(ORDER).handler(forwarder::handle);
        if (health.isResolvable()) {
            // grpc.health.v1 at the edge answers per routed service: SERVING while a replica of its owner is connected
            io.quarkus.grpc.runtime.health.GrpcHealthStorage storage = health.get();
            mesh.watchHealth((name, serving) -> storage.setStatus(name, serving
                    ? grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus.SERVING
                    : grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus.NOT_SERVING));
        }
    }
}
