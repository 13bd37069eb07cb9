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
        try {
            return dev.shmesh.service.WorkerEnvironment.current().instanceId();
        } catch (IllegalArgumentException e) {
            return "standalone-" + ProcessHandle.current().pid(); // WorkerMain reports the bad variable and exits
        }
    }
}
