package dev.shmesh.worker;

import io.vertx.core.impl.VertxBuilder;
import io.vertx.core.spi.VertxServiceProvider;
import org.jboss.logging.Logger;

/**
 * Installs {@link AdoptingTransport} into every Vert.x instance of this JVM when the gateway handed
 * us a listener. Discovered through {@code META-INF/services}; Quarkus builds its Vert.x with
 * {@code VertxBuilder.init()}, which runs service providers after choosing the default transport.
 */
public final class MeshTransportProvider implements VertxServiceProvider {
    private static final Logger LOG = Logger.getLogger(MeshTransportProvider.class);

    @Override
    public void init(VertxBuilder builder) {
        dev.shmesh.service.HandedListener listener = HandedListeners.primary();
        if (listener == null) {
            return; // standalone: Vert.x binds its own port as usual
        }
        AdoptingTransport transport = new AdoptingTransport(listener);
        if (!transport.isAvailable()) {
            throw new IllegalStateException(
                    "the epoll transport is unavailable, so the handed listener cannot be adopted: "
                            + transport.unavailabilityCause());
        }
        LOG.debugf("serving on handed listener %s (fd %d, %s)", listener.name(), listener.fd(), listener.address());
        builder.findTransport(transport);
    }
}
