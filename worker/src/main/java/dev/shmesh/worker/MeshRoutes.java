package dev.shmesh.worker;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/** Installs the edge's forwarding of routed gRPC services ahead of every other route, when the mesh has any. */
@ApplicationScoped
public class MeshRoutes {
    /** Before Quarkus's own gRPC route, which answers UNIMPLEMENTED for services this process does not serve. */
    static final int ORDER = -1_000_000;

    void install(@Observes Router router, Vertx vertx) {
        MeshRouter mesh = MeshRouter.get();
        if (mesh == null || !mesh.routesGrpc()) {
            return;
        }
        GrpcForwarder forwarder = new GrpcForwarder(vertx, mesh);
        router.route().order(ORDER).handler(forwarder::handle);
    }
}
