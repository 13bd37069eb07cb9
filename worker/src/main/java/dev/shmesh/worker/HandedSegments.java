package dev.shmesh.worker;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shared-memory segment fds the gateway handed this process (jobs, leases, replies-N...), by name.
 * Workers never open segments by name: they map what they were handed. Written once at handshake.
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
