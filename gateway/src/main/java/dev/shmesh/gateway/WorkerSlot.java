package dev.shmesh.gateway;

import dev.shmesh.api.control.ProcessRole;
import dev.shmesh.api.control.v1.PeerHealth;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One supervised worker position ("worker-1"): the process currently filling it and its history.
 * Guarded by the {@link Supervisor}'s lock; the fields are read for /status under that lock too.
 */
final class WorkerSlot {
    enum State {
        /** not spawned yet: a compute worker waits for the edge workers to be ready first */
        WAITING,
        /** spawned, no authenticated control connection yet */
        STARTING,
        /** authenticated and assigned its fds, not serving yet */
        ASSIGNED,
        /** serving */
        READY,
        /** exited; a restart is scheduled */
        BACKOFF,
        /** restarted too often: left down, reported */
        CRASH_LOOP,
        /** the gateway is stopping it */
        STOPPING,
        STOPPED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    final String id;
    final ProcessRole role;
    /** What the slot runs, and for a service replica its mesh-file entry. */
    final MeshTopology.Slot plan;
    State state = State.STOPPED;
    /** The spawned process (host mode); null in container mode. */
    Process process;
    /**
     * The worker JVM's pid: in host mode the spawned process until the JVM connects, then its
     * SO_PEERCRED pid (a launcher such as bwrap sits in between); in container mode, as it reports itself.
     */
    long pid = -1;
    /** One-time secret the current process must present in Hello; null once used. */
    String token;
    ControlServer.PeerSession session;
    Instant spawnedAt;
    Instant readyAt;
    long lastHeartbeatNanos;
    PeerHealth health;
    /** The mesh member id of the current process (see Assign.member); 0 before the first spawn. */
    long member;
    int restarts;
    int consecutiveFailures;
    String lastExit;
    final Deque<Instant> recentRestarts = new ArrayDeque<>();

    WorkerSlot(MeshTopology.Slot plan) {
        this.id = plan.id();
        this.role = plan.role();
        this.plan = plan;
    }

    long pid() {
        return pid;
    }
}
