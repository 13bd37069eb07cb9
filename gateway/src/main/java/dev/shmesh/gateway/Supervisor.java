package dev.shmesh.gateway;

import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.PeerHealth;
import dev.shmesh.api.control.ProcessRole;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import dev.shmesh.sandbox.SandboxException;
import org.jboss.logging.Logger;

/**
 * Spawns the workers, authenticates their control connections, watches their heartbeats and
 * restarts them with exponential backoff; a worker that keeps dying is left down as
 * {@code crash-loop} and reported instead of looping forever.
 *
 * <p>Thread-safety: every slot mutation happens under {@code this}; process exits and timers arrive
 * on other threads and take the lock.
 */
final class Supervisor {
    private static final Logger LOG = Logger.getLogger(Supervisor.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** A worker ready this long has its consecutive-failure count reset. */
    private static final Duration STABLE_AFTER = Duration.ofSeconds(30);

    private static final java.util.regex.Pattern INSTANCE_ID = HelloCheck.INSTANCE_ID;

    private final GatewayConfig config;
    private final MeshTopology topology;
    private final boolean containerMode;
    private final byte[] meshToken;
    private final Map<String, WorkerSlot> slots = new LinkedHashMap<>();
    private final ConnectionMaker connections = new ConnectionMaker();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("shmesh-supervisor").factory());
    private Path controlSocket;
    private WorkerLauncher launcher;
    private boolean stopping;
    private long totalRestarts;

    Supervisor(GatewayConfig config, MeshTopology topology) {
        this.config = config;
        this.topology = topology;
        this.containerMode = switch (config.mode()) {
            case "host" -> false;
            case "container" -> true;
            default -> throw new IllegalStateException(
                    "shmesh.mode=" + config.mode() + " is not one of: host, container");
        };
        if (containerMode) {
            String token = config.meshToken().orElse("");
            if (token.length() < 16) {
                throw new IllegalStateException("container mode needs a mesh token of at least 16 characters in"
                        + " SHMESH_MESH_TOKEN (shmesh.mesh-token); workers present the same value as SHMESH_TOKEN");
            }
            this.meshToken = token.getBytes(StandardCharsets.UTF_8);
            return;
        }
        this.meshToken = null;
        for (MeshTopology.Slot planned : topology.slots()) {
            slots.put(planned.id(), new WorkerSlot(planned));
        }
    }

    /** What this gateway runs. */
    MeshTopology topology() {
        return topology;
    }

    /** The mesh name: {@code --mesh}, else the mesh file's {@code mesh:}, else {@code default}. */
    String mesh() {
        return meshName(config, topology);
    }

    static String meshName(GatewayConfig config, MeshTopology topology) {
        if (!config.mesh().equals("default") || topology.file() == null) {
            return config.mesh();
        }
        return topology.file().mesh();
    }

    /**
     * Spawns the broker and the edge workers, then, once every edge is ready (or {@link #EDGE_HEAD_START} has
     * passed), the compute workers; starts the watchdog. On two cores four JVMs starting at once took 1.6-1.8 s to an
     * edge's Ready; without the compute JVM competing, 1.3-1.5 s. Jobs sent before a compute is ready wait in the
     * ring.
     */
    synchronized void start(Path controlSocket) throws SandboxException {
        this.controlSocket = controlSocket;
        if (!containerMode) {
            launcher = new WorkerLauncher(config, workerJar(), controlSocket.getParent());
            launcher.preflight();
            boolean edges = slots.values().stream().anyMatch(s -> s.role == ProcessRole.EDGE);
            for (WorkerSlot slot : slots.values()) {
                if (edges && slot.role == ProcessRole.COMPUTE) {
                    slot.state = WorkerSlot.State.WAITING;
                } else {
                    spawn(slot);
                }
            }
            timer.schedule(this::spawnWaitingComputes, EDGE_HEAD_START.toMillis(), TimeUnit.MILLISECONDS);
        }
        timer.scheduleWithFixedDelay(this::watchdog, 500, 500, TimeUnit.MILLISECONDS);
    }

    /** How long compute workers wait for the edge workers to be ready before they start anyway. */
    static final Duration EDGE_HEAD_START = Duration.ofSeconds(10);

    private synchronized void spawnWaitingComputes() {
        if (stopping) {
            return;
        }
        for (WorkerSlot slot : slots.values()) {
            if (slot.state == WorkerSlot.State.WAITING) {
                spawn(slot);
            }
        }
    }

    synchronized WorkerSlot slot(String id) {
        return slots.get(id);
    }

    /**
     * Checks a Hello against the process spawned for its instance id.
     *
     * @return null when authenticated (the token is consumed), else the reason for refusal
     */
    synchronized String authenticate(Hello hello, long peerPid, ControlServer.PeerSession session) {
        if (containerMode) {
            return authenticateContainer(hello, session);
        }
        WorkerSlot slot = slots.get(hello.getInstanceId());
        if (slot == null) {
            return "unknown instance id '" + hello.getInstanceId() + "'";
        }
        if (slot.role != ProcessRole.ofWire(hello.getRole())) {
            return "role " + hello.getRole() + " does not match " + slot.id + "'s role " + slot.role;
        }
        if (slot.process == null || !slot.process.isAlive() || slot.token == null) {
            return slot.id + " is not expecting a connection (state " + slot.state.label() + ", token used)";
        }
        byte[] expected = slot.token.getBytes(StandardCharsets.US_ASCII);
        byte[] presented = hello.getToken().getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, presented)) {
            return "wrong token for " + slot.id;
        }
        if (!PeerCheck.isSelfOrDescendant(peerPid, slot.process.pid())) {
            return "pid " + peerPid + " is not " + slot.id + "'s process " + slot.process.pid() + " or its descendant";
        }
        slot.token = null;
        slot.session = session;
        slot.state = WorkerSlot.State.ASSIGNED;
        slot.pid = peerPid; // the JVM itself, which may be a launcher's (bwrap's) child
        return null;
    }

    /** Container mode: the mesh token, a well-formed id nobody connected holds, a known role. */
    private String authenticateContainer(Hello hello, ControlServer.PeerSession session) {
        if (!MessageDigest.isEqual(meshToken, hello.getToken().getBytes(StandardCharsets.UTF_8))) {
            return "wrong mesh token";
        }
        String id = hello.getInstanceId();
        if (!INSTANCE_ID.matcher(id).matches()) {
            return "instance id must match " + INSTANCE_ID.pattern();
        }
        ProcessRole role = ProcessRole.ofWire(hello.getRole());
        if (role == null || role == ProcessRole.SERVICE) {
            return "unknown role " + hello.getRole() + " (container mode runs the built-in demo's roles)";
        }
        WorkerSlot existing = slots.get(id);
        if (existing != null && existing.session != null) {
            return "instance id '" + id + "' is already connected";
        }
        WorkerSlot slot = new WorkerSlot(new MeshTopology.Slot(id, role, null));
        slot.session = session;
        slot.state = WorkerSlot.State.ASSIGNED;
        slot.spawnedAt = Instant.now();
        slots.put(id, slot);
        admit(slot);
        return null;
    }


    // --- members: ids for lease holders and ring consumers; the broker learns who is gone ----------------

    /** Random and fixed for this gateway's life: member ids repeat across gateways, generations do not. */
    private final long generation = RANDOM.nextLong() >>> 1 | 1;
    private long highestMember; // guarded by this
    private final java.util.TreeSet<Long> liveMembers = new java.util.TreeSet<>();
    private ControlServer.PeerSession brokerSession; // the broker's connection once it sent its segments

    /** Gives the slot's new process a member id that was never used before, and tells the broker. */
    private void admit(WorkerSlot slot) {
        slot.member = ++highestMember;
        liveMembers.add(slot.member);
        publishMembers();
    }

    /** The slot's process is gone for good (exited, or its container's connection ended): tell the broker. */
    private void gone(WorkerSlot slot) {
        if (slot.member != 0 && liveMembers.remove(slot.member)) {
            publishMembers();
        }
    }

    /**
     * Queues the current membership for the broker. A single sender thread writes it, outside this lock (a broker
     * that stops reading must not wedge the supervisor); Members is the whole state, so only the newest counts.
     */
    private void publishMembers() {
        ControlServer.PeerSession broker = brokerSession;
        if (broker == null) {
            return; // the broker gets the whole state once it has sent its segments
        }
        pendingMembers.set(new MembersUpdate(broker, highestMember, List.copyOf(liveMembers)));
        membersSender.execute(this::sendPendingMembers);
    }

    private record MembersUpdate(ControlServer.PeerSession broker, long highest, List<Long> live) {}

    private final java.util.concurrent.atomic.AtomicReference<MembersUpdate> pendingMembers =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final java.util.concurrent.ExecutorService membersSender = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("shmesh-members").factory());

    private void sendPendingMembers() {
        MembersUpdate update = pendingMembers.getAndSet(null);
        if (update != null && !update.broker().sendMembers(update.highest(), update.live())) {
            LOG.warnf("cannot tell the broker which members are gone (its connection is closing); the next broker"
                    + " learns it when it has sent its segments");
        }
    }

    /**
     * How long after a container's control connection ends its member counts as gone: a worker that loses the
     * connection stops touching shared memory and exits within its orphan grace (2 s); until then the broker must
     * not take back what it holds.
     */
    private static final Duration CONTAINER_GONE_AFTER = Duration.ofSeconds(5);

    long generation() {
        return generation;
    }

    // --- shared-memory segments: the broker hands them over, the gateway hands them on -------------------

    private Map<String, java.io.FileDescriptor> segments; // guarded by this; null until the broker sent them
    private java.util.function.Consumer<Map<String, java.io.FileDescriptor>> segmentsListener = s -> { };

    /** The broker's segments arrived (again, after a broker restart: the same files, re-attached). */
    synchronized void onSegments(WorkerSlot slot, Map<String, java.io.FileDescriptor> fds) {
        Map<String, java.io.FileDescriptor> old = segments;
        segments = Map.copyOf(fds);
        notifyAll();
        LOG.infof("%s handed over %d shared-memory segments", slot.id, fds.size());
        brokerSession = slot.session;
        publishMembers();
        segmentsListener.accept(segments);
        if (old != null) {
            dev.shmesh.linux.FileDescriptors.closeAll(old.values().toArray(java.io.FileDescriptor[]::new));
        }
    }

    /** Registers who wants to know about new segments (the /metrics counters reader). */
    synchronized void onSegments(java.util.function.Consumer<Map<String, java.io.FileDescriptor>> listener) {
        this.segmentsListener = listener;
    }

    synchronized void onReady(WorkerSlot slot, ControlServer.PeerSession session) {
        if (slot.session != session) {
            return;
        }
        slot.state = WorkerSlot.State.READY;
        slot.readyAt = Instant.now();
        slot.lastHeartbeatNanos = System.nanoTime();
        LOG.infof("%s ready (pid %d) in %d ms", slot.id, slot.pid(),
                Duration.between(slot.spawnedAt, slot.readyAt).toMillis());
        connectToCounterparts(slot);
        if (slot.role == ProcessRole.EDGE && slots.values().stream()
                .allMatch(s -> s.role != ProcessRole.EDGE || s.state == WorkerSlot.State.READY)) {
            spawnWaitingComputes();
        }
    }

    /**
     * A process that became ready is connected to every ready process it calls, and every ready process that calls
     * it ({@link MeshTopology#connection}): an edge to the public services, a service to those in its {@code calls}.
     */
    private void connectToCounterparts(WorkerSlot slot) {
        for (WorkerSlot other : slots.values()) {
            if (other == slot || other.state != WorkerSlot.State.READY || other.session == null) {
                continue;
            }
            String called = MeshTopology.connection(slot.plan, other.plan);
            if (called != null) {
                connections.connect(slot, other, called);
            }
            String calling = MeshTopology.connection(other.plan, slot.plan);
            if (calling != null) {
                connections.connect(other, slot, calling);
            }
        }
    }

    synchronized void onHeartbeat(WorkerSlot slot, ControlServer.PeerSession session, PeerHealth health) {
        if (slot.session != session) {
            return;
        }
        slot.lastHeartbeatNanos = System.nanoTime();
        slot.health = health;
        if (containerMode) {
            slot.pid = health.getPid(); // its own view: other containers' pids are invisible here
        }
        if (slot.readyAt != null && slot.consecutiveFailures > 0
                && Duration.between(slot.readyAt, Instant.now()).compareTo(STABLE_AFTER) > 0) {
            slot.consecutiveFailures = 0;
        }
    }

    synchronized void onDisconnect(WorkerSlot slot, ControlServer.PeerSession session) {
        if (slot.session == session) {
            slot.session = null;
            if (brokerSession == session) {
                brokerSession = null;
            }
            if (containerMode && slots.get(slot.id) == slot) {
                // the container runtime owns its lifecycle; a restarted container connects anew, as a new member
                slots.remove(slot.id);
                timer.schedule(() -> {
                    synchronized (this) {
                        gone(slot);
                    }
                }, CONTAINER_GONE_AFTER.toMillis(), TimeUnit.MILLISECONDS);
                LOG.infof("%s disconnected", slot.id);
            }
        }
    }

    private void spawn(WorkerSlot slot) {
        slot.token = HexFormat.of().formatHex(randomBytes(32));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("SHMESH_CONTROL_SOCKET", controlSocket.toString());
        env.put("SHMESH_WORKER_ID", slot.id);
        // never on a command line (bwrap's argv is readable by every local user in /proc/PID/cmdline) nor in the
        // environment (/proc/PID/environ): the token goes down the child's stdin, a pipe only it holds
        env.put("SHMESH_TOKEN_FROM", "stdin");
        env.put("SHMESH_MESH", mesh());
        env.put("SHMESH_ROLE", slot.role.label());
        if (slot.plan.service() != null) {
            env.put("SHMESH_SERVICE", slot.plan.service().name());
        }
        ProcessBuilder builder = null;
        admit(slot);
        try {
            builder = launcher.processBuilder(slot.plan, env);
            Process process = builder.start();
            try (java.io.OutputStream stdin = process.getOutputStream()) {
                stdin.write((slot.token + "\n").getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                LOG.warnf("cannot hand %s its token through its stdin: %s (it exited at once?)", slot.id, e.getMessage());
            }
            slot.process = process;
            slot.pid = process.pid();
            slot.spawnedAt = Instant.now();
            slot.readyAt = null;
            slot.health = null;
            slot.state = WorkerSlot.State.STARTING;
            LOG.infof("spawned %s (pid %d)", slot.id, process.pid());
            process.onExit().thenAccept(p -> onExit(slot, p));
        } catch (IOException | SandboxException e) {
            slot.process = null;
            gone(slot);
            slot.lastExit = "spawn failed: " + e.getMessage();
            LOG.errorf("cannot start %s: %s (command: %s)", slot.id, e.getMessage(),
                    builder == null ? "-" : String.join(" ", builder.command()));
            scheduleRestart(slot);
        }
    }

    private synchronized void onExit(WorkerSlot slot, Process process) {
        if (slot.process != process) {
            return;
        }
        slot.lastExit = "exit code " + process.exitValue();
        if (slot.session != null && slot.session == brokerSession) {
            brokerSession = null; // a new broker gets the whole state once it has sent its segments
        }
        gone(slot);
        if (slot.session != null) {
            slot.session.close();
            slot.session = null;
        }
        if (stopping) {
            slot.state = WorkerSlot.State.STOPPED;
            return;
        }
        LOG.warnf("%s (pid %d) exited with code %d", slot.id, process.pid(), process.exitValue());
        scheduleRestart(slot);
    }

    private void scheduleRestart(WorkerSlot slot) {
        Instant now = Instant.now();
        slot.recentRestarts.addLast(now);
        while (!slot.recentRestarts.isEmpty()
                && slot.recentRestarts.peekFirst().isBefore(now.minus(config.worker().crashLoopWindow()))) {
            slot.recentRestarts.removeFirst();
        }
        if (slot.recentRestarts.size() > config.worker().crashLoopLimit()) {
            slot.state = WorkerSlot.State.CRASH_LOOP;
            LOG.errorf("%s exited %d times within %s (last: %s); leaving it down. Check the worker's output"
                            + " above, fix the cause, then restart the gateway.",
                    slot.id, slot.recentRestarts.size(), config.worker().crashLoopWindow(), slot.lastExit);
            return;
        }
        long base = config.worker().restartBackoff().toMillis();
        long delay = Math.min(config.worker().restartBackoffMax().toMillis(),
                base << Math.min(20, slot.consecutiveFailures));
        slot.consecutiveFailures++;
        slot.state = WorkerSlot.State.BACKOFF;
        timer.schedule(() -> restart(slot), delay, TimeUnit.MILLISECONDS);
    }

    private synchronized void restart(WorkerSlot slot) {
        if (stopping || slot.state != WorkerSlot.State.BACKOFF) {
            return;
        }
        slot.restarts++;
        totalRestarts++;
        spawn(slot);
    }

    private synchronized void watchdog() {
        if (stopping) {
            return;
        }
        long now = System.nanoTime();
        for (WorkerSlot slot : List.copyOf(slots.values())) {
            if (containerMode) {
                if (slot.state == WorkerSlot.State.READY && slot.session != null
                        && now - slot.lastHeartbeatNanos > config.control().heartbeatTimeout().toNanos()) {
                    LOG.warnf("%s sent no heartbeat for %s; dropping its connection", slot.id,
                            config.control().heartbeatTimeout());
                    slot.session.close();
                }
                continue;
            }
            Process p = slot.process;
            if (p == null || !p.isAlive()) {
                continue;
            }
            if (slot.state == WorkerSlot.State.READY
                    && now - slot.lastHeartbeatNanos > config.control().heartbeatTimeout().toNanos()) {
                LOG.warnf("%s (pid %d) sent no heartbeat for %s; killing it", slot.id, p.pid(),
                        config.control().heartbeatTimeout());
                p.destroyForcibly();
            } else if ((slot.state == WorkerSlot.State.STARTING || slot.state == WorkerSlot.State.ASSIGNED)
                    && Duration.between(slot.spawnedAt, Instant.now()).compareTo(config.worker().readyTimeout()) > 0) {
                LOG.warnf("%s (pid %d) not ready within %s; killing it", slot.id, p.pid(),
                        config.worker().readyTimeout());
                p.destroyForcibly();
            }
        }
    }

    /** Stops every worker: Stop over the control socket, then SIGTERM, then SIGKILL. Blocks until all are gone. */
    void stopAll() {
        List<Process> processes = new ArrayList<>();
        synchronized (this) {
            stopping = true;
            if (containerMode) {
                // the runtime owns the workers: they lose the connection and reconnect to the next gateway
                slots.values().stream().filter(sl -> sl.session != null).forEach(sl -> sl.session.close());
            }
            for (WorkerSlot slot : slots.values()) {
                if (slot.process != null && slot.process.isAlive()) {
                    slot.state = WorkerSlot.State.STOPPING;
                    processes.add(slot.process);
                    if (slot.session == null || !slot.session.sendStop()) {
                        slot.process.destroy();
                    }
                }
            }
        }
        timer.shutdownNow();
        membersSender.shutdownNow();
        long deadline = System.nanoTime() + config.worker().stopTimeout().toNanos();
        for (Process p : processes) {
            waitFor(p, deadline);
            if (p.isAlive()) {
                p.destroy();
            }
        }
        long killDeadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        for (Process p : processes) {
            waitFor(p, killDeadline);
            if (p.isAlive()) {
                LOG.warnf("worker pid %d ignored SIGTERM; killing it", p.pid());
                p.destroyForcibly();
                waitFor(p, System.nanoTime() + Duration.ofSeconds(5).toNanos());
            }
        }
    }

    /** A snapshot of every slot for /status and /metrics. */
    synchronized List<Map<String, Object>> snapshot() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (WorkerSlot slot : slots.values()) {
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("id", slot.id);
            boolean alive = containerMode ? slot.session != null : slot.process != null && slot.process.isAlive();
            w.put("pid", alive && slot.pid > 0 ? slot.pid : null);
            if (slot.process != null && slot.process.pid() != slot.pid) {
                w.put("launcherPid", alive ? slot.process.pid() : null);
            }
            w.put("role", slot.role.label());
            if (slot.plan.service() != null) {
                w.put("service", slot.plan.service().name());
            }
            w.put("member", slot.member);
            w.put("state", slot.state.label());
            w.put("restarts", slot.restarts);
            long uptimeMs = slot.readyAt == null || slot.state != WorkerSlot.State.READY
                    ? 0 : Duration.between(slot.spawnedAt, Instant.now()).toMillis();
            w.put("uptime", String.format(java.util.Locale.ROOT, "%.1fs", uptimeMs / 1000.0));
            w.put("uptimeMs", uptimeMs);
            w.put("lastExit", slot.lastExit);
            if (slot.health != null) {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("pid", slot.health.getPid());
                h.put("fds", new LinkedHashMap<>(slot.health.getFdsMap()));
                h.put("requests", slot.health.getRequests());
                h.put("rssBytes", slot.health.getRssBytes());
                h.put("sandbox", new LinkedHashMap<>(slot.health.getSandboxMap()));
                h.put("info", new java.util.TreeMap<>(slot.health.getInfoMap()));
                w.put("health", h);
            }
            out.add(w);
        }
        return out;
    }

    /** How workers are isolated, and why not fully when degraded; empty in container mode. */
    synchronized Map<String, Object> isolation() {
        return launcher == null ? Map.of("mode", "container-runtime") : launcher.status();
    }

    synchronized long totalRestarts() {
        return totalRestarts;
    }

    synchronized long count(WorkerSlot.State state) {
        return slots.values().stream().filter(s -> s.state == state).count();
    }

    /** The worker jar, checked to exist, with a message that says how to get one. */
    Path workerJar() {
        if (containerMode) {
            return null;
        }
        Path jar = Path.of(config.worker().jar().orElse("worker/target/quarkus-app/quarkus-run.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("worker jar not found at " + jar
                    + ": build it with ./shmesh build, or point shmesh.worker.jar (--worker-jar) at it");
        }
        return jar;
    }

    private static void waitFor(Process p, long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            return;
        }
        try {
            p.waitFor(left, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
