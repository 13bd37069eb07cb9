package dev.shmesh.worker;

import io.vertx.core.impl.VertxBuilder;
import io.vertx.core.spi.VertxServiceProvider;

/**
 * Installs {@link AdoptingTransport} into every Vert.x instance of this JVM when the gateway started it (it is handed
 * a listener). Discovered through {@code META-INF/services}; Quarkus builds its Vert.x with
 * {@code VertxBuilder.init()}, which runs service providers after choosing the default transport.
 */
public final class MeshTransportProvider implements VertxServiceProvider {

    @Override
    public void init(VertxBuilder builder) {
        if (!WorkerMain.inMesh()) {
            return; // standalone: Vert.x binds its own port as usual
        }
        // the listener may arrive after this (the handshake runs beside the boot): it is looked up when the HTTP
        // server binds, which MeshHandshakeGate holds back until the Assign is in
        AdoptingTransport transport = new AdoptingTransport(HandedListeners::primary);
        if (!transport.isAvailable()) {
            throw new IllegalStateException(
                    "the epoll transport is unavailable, so the handed listener cannot be adopted: "
                            + transport.unavailabilityCause());
        }
        builder.findTransport(transport);
    }
}
