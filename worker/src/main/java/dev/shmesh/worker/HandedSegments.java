package dev.shmesh.worker;

import dev.shmesh.broker.Counters;
import dev.shmesh.broker.ManyToManyRing;
import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.Ring;
import dev.shmesh.broker.RingCounters;
import dev.shmesh.broker.ShmSegment;
import java.io.IOException;
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

    /**
     * Maps handed segment {@code name} (through /proc/self/fd: before seccomp, which allows only read-only
     * opens) as the view {@code attach} builds, checking its layout kind; null when it was not handed.
     */
    static <T> T map(String name, int kind, ShmSegment.Attacher<T> attach) throws IOException {
        int fd = fd(name);
        return fd < 0 ? null : ShmSegment.openFd(fd, kind).attachOrClose(attach);
    }

    private static Counters counters;

    /** Counts this process's operations on {@code ring} under {@code label} in the broker's counters segment. */
    static synchronized void bindCounters(Ring ring, String label) throws IOException {
        if (counters == null) {
            counters = map("counters", dev.shmesh.broker.internal.SegmentHeaderDescriptor.KIND_COUNTERS, Counters::attach);
            if (counters == null) {
                return;
            }
        }
        RingCounters c = counters.find(label);
        if (c == null) {
            return;
        }
        switch (ring) {
            case ManyToManyRing m -> m.bindCounters(c);
            case ManyToOneRing o -> o.bindCounters(c);
        }
    }
}
