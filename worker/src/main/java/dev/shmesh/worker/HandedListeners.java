package dev.shmesh.worker;

import dev.shmesh.service.HandedListener;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The listen fds the gateway handed this worker, set once by {@link WorkerMain} before Quarkus (and
 * so Vert.x) starts, read by {@link AdoptingTransport} when the HTTP server binds.
 *
 * <p>Thread-safety: written once before any reader exists (happens-before through Quarkus start).
 */
public final class HandedListeners {
    private static final Map<String, HandedListener> LISTENERS = new LinkedHashMap<>();

    private HandedListeners() {}

    static synchronized void add(HandedListener listener) {
        LISTENERS.put(listener.name(), listener);
    }

    /** The listener the HTTP server adopts ("http"), or null when the worker runs standalone. */
    public static synchronized HandedListener primary() {
        HandedListener http = LISTENERS.get("http");
        return http != null ? http : LISTENERS.values().stream().findFirst().orElse(null);
    }

    /** Every handed listener, in Assign order. */
    public static synchronized Map<String, HandedListener> all() {
        return Map.copyOf(LISTENERS);
    }
}
