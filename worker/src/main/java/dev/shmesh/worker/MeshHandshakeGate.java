package dev.shmesh.worker;

import io.vertx.ext.web.Router;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Holds Quarkus's boot, on its main thread, at the last step before the HTTP server binds (routes are set up just
 * before) until the control handshake that runs beside the boot has brought the Assign and its listener
 * ({@link WorkerMain}). A failed handshake exits the process, so this wait ends either way.
 */
@ApplicationScoped
public class MeshHandshakeGate {
    void awaitAssign(@Observes @Priority(0) Router router) {
        if (WorkerMain.inMesh()) {
            WorkerMain.awaitHandshake();
        }
    }
}
