package dev.shmesh.worker;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The listen fds the gateway handed this worker, set once by {@link WorkerMain} before Quarkus (and
 * so Vert.x) starts, read by {@link AdoptingTransport} when the HTTP server binds.
 *
 * <p>Thread-safety: written once before any reader exists (happens-before through Quarkus start).
 */
public final class HandedListeners {
    /** A received listening socket: its name in the Assign message, its fd in this process, its address. */
    public record Listener(String name, int fd, String address) {}

    private static final Map<String, Listener> LISTENERS = new LinkedHashMap<>();

    private HandedListeners() {}

    static synchronized void add(Listener listener) {
        LISTENERS.put(listener.name(), listener);
    }

    /** The listener the HTTP server adopts ("http"), or null when the worker runs standalone. */
    public static synchronized Listener primary() {
        Listener http = LISTENERS.get("http");
        return http != null ? http : LISTENERS.values().stream().findFirst().orElse(null);
    }

    /** Every handed listener, in Assign order. */
    public static synchronized Map<String, Listener> all() {
        return Map.copyOf(LISTENERS);
    }
}
