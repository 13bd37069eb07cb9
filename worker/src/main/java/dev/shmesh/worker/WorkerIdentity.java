package dev.shmesh.worker;

import java.util.concurrent.atomic.LongAdder;

/** Who this worker is (the id the gateway gave it at spawn) and what it has served. Thread-safe. */
public final class WorkerIdentity {
    private static final String ID = resolveId();
    private static final LongAdder REQUESTS = new LongAdder();

    private WorkerIdentity() {}

    /** The gateway-assigned id ({@code SHMESH_WORKER_ID}), or {@code standalone-<pid>}. */
    public static String id() {
        return ID;
    }

    /** Counts one served request (HTTP or gRPC). */
    public static void served() {
        REQUESTS.increment();
    }

    /** Requests served since start. */
    public static long requests() {
        return REQUESTS.sum();
    }

    private static String resolveId() {
        String id = System.getenv("SHMESH_WORKER_ID");
        if (id != null && !id.isBlank()) {
            return id; // host mode: the gateway named the slot
        }
        if (System.getenv("SHMESH_CONTROL_SOCKET") != null) {
            // container mode: one process per container, named after its role and hostname
            String role = System.getenv().getOrDefault("SHMESH_ROLE", "edge");
            return (role.equals("edge") ? "worker" : role) + "-" + hostname();
        }
        return "standalone-" + ProcessHandle.current().pid();
    }

    private static String hostname() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).trim();
            } catch (java.io.IOException e) {
                host = Long.toString(ProcessHandle.current().pid());
            }
        }
        return host;
    }
}
