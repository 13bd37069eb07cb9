package dev.shmesh.worker;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shared-memory segment fds the gateway handed this process in its Assign, by name (reported in heartbeats).
 * Workers never open segments by name. Today the gateway hands edge and compute workers none: they reach each other
 * only over the gRPC-over-shm connections it makes for them.
 */
final class HandedSegments {
    private static final Map<String, Integer> FDS = new LinkedHashMap<>();

    private HandedSegments() {}

    static synchronized void add(String name, int fd) {
        FDS.put(name, fd);
    }

    /** The fd of segment {@code name}, or -1. */
    static synchronized int fd(String name) {
        return FDS.getOrDefault(name, -1);
    }

    static synchronized Map<String, Integer> all() {
        return Map.copyOf(FDS);
    }
}
