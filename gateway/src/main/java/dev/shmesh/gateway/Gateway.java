package dev.shmesh.gateway;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The gateway's lifecycle: bind the listeners, open the control socket, start the supervisor; on
 * shutdown stop every worker, then remove the control socket. Order matters: listeners exist
 * before any worker can ask for them, and outlive every worker.
 */
@ApplicationScoped
public class Gateway {
    private static final Logger LOG = Logger.getLogger(Gateway.class);

    @Inject
    GatewayConfig config;

    @Inject
    MeterRegistry registry;

    private volatile Listeners listeners;
    private volatile ControlServer control;
    private volatile Supervisor supervisor;
    private volatile MeshTopology topology;
    private final Instant startedAt = Instant.now();
    private volatile String ownFilterDegradation = "";
    private volatile MeshLock meshLock;
    private volatile ShmMetrics shmMetrics;
    /** The user this gateway dropped root to, or empty when it was not started as root. */
    private volatile String droppedTo = "";

    /** Starts the mesh; throws IllegalStateException with a user-facing message on failure. */
    synchronized void start() throws IOException, dev.shmesh.sandbox.SandboxException {
        topology = loadTopology();
        Supervisor sup = new Supervisor(config, topology);
        Path workerJar = sup.workerJar(); // fail before binding anything when there is nothing to spawn
        if (PrivilegeDrop.runningAsRoot()) {
            dropRootAndReexec(workerJar); // returns only by throwing
        }
        droppedTo = PrivilegeDrop.afterDrop().orElse("");
        Path runDir = RunDir.prepare(config.runDir());
        meshLock = MeshLock.acquire(runDir, Supervisor.meshName(config, topology));
        shmMetrics = new ShmMetrics(registry);
        MeshLock lock = meshLock;
        sup.onSegments(segments -> {
            shmMetrics.onSegments(segments);
            lock.recordSegments(segments);
        });
        listeners = Listeners.open(listen());
        control = ControlServer.open(runDir, sup, listeners, config.control());
        supervisor = sup;
        control.start();
        sup.start(control.socketPath());
        armOwnFilter();
        registerMetrics();
        for (Listeners.Listener l : listeners.all()) {
            LOG.infof("mesh listening on http://%s (HTTP/1.1, h2c, gRPC), fd %d, backlog %d",
                    l.addressText(), l.fd(), l.backlog());
        }
        if (config.mode().equals("container")) {
            LOG.infof("control socket %s; container mode: waiting for workers that present the mesh token",
                    control.socketPath());
        } else {
            LOG.infof("control socket %s; %d process(es) starting", control.socketPath(), topology.slots().size());
        }
        org.eclipse.microprofile.config.Config c = org.eclipse.microprofile.config.ConfigProvider.getConfig();
        String admin = c.getOptionalValue("quarkus.http.host", String.class).orElse("127.0.0.1") + ":"
                + c.getOptionalValue("quarkus.http.port", Integer.class).orElse(9901);
        String mesh = listeners.all().getFirst().addressText();
        String serving = topology.file() == null
                ? "http://" + mesh + "/v1/echo?msg=hi   (HTTP/1.1, h2c, gRPC shmesh.demo.v1.Demo)"
                : mesh + "   gRPC " + String.join(", ", topology.routes().stream()
                        .flatMap(r -> r.getGrpcServicesList().stream()).toList());
        LOG.infof("%n  shmesh is up%n    mesh   %s%n    admin  http://%s/status   /metrics   /health%n"
                + "  Ctrl-C stops the mesh.", serving, admin);
    }

    /**
     * What to run: the mesh file's services ({@code shmesh.mesh-file}, {@code -f}), checked before anything is bound
     * or spawned, or else the built-in demo.
     */
    private MeshTopology loadTopology() {
        if (config.meshFile().isEmpty()) {
            return MeshTopology.demo(config.worker().count(), config.broker().enabled(), config.broker().computes());
        }
        Path file = Path.of(config.meshFile().get()).toAbsolutePath().normalize();
        dev.shmesh.mesh.MeshFile mesh;
        try {
            mesh = dev.shmesh.mesh.MeshFile.parse(file);
        } catch (dev.shmesh.mesh.MeshFileException e) {
            throw new IllegalStateException("the mesh file is not valid, nothing was started:\n  " + e.getMessage());
        }
        List<String> missing = mesh.checkArtifacts();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("the mesh file " + file + " names artifacts that are not there:\n  "
                    + String.join("\n  ", missing));
        }
        if (mesh.listeners().size() > 1) {
            LOG.warnf("%s declares %d listeners; this version serves the first (%s) and ignores the others", file,
                    mesh.listeners().size(), mesh.listeners().getFirst().name());
        }
        for (dev.shmesh.mesh.ServiceSpec s : mesh.services()) {
            // said at start, not found out from a 404: what this version does not do yet
            if (!s.httpPrefixes().isEmpty()) {
                LOG.warnf("service %s: HTTP routes %s are not forwarded by this version's edge (gRPC only)", s.name(),
                        s.httpPrefixes());
            }
            if (s.listen().isPresent()) {
                LOG.warnf("service %s: listen: %d is not served by this version (its gRPC goes through the edge)",
                        s.name(), s.listen().getAsInt());
            }
            if (!s.sandbox().syscalls().isEmpty()) {
                LOG.warnf("service %s: sandbox.syscalls %s are not added to its filter by this version (it runs under"
                        + " the worker policy)", s.name(), s.sandbox().syscalls());
            }
            dev.shmesh.mesh.Resources r = s.resources();
            if (r.memoryBytes().isPresent() || r.pids().isPresent() || r.cpus().isPresent()) {
                LOG.warnf("service %s: resources.memory/pids/cpus are not enforced on this host by this version"
                        + " (resources.heap is)", s.name());
            }
        }
        LOG.infof("mesh file %s: %d service(s), %d edge worker(s)", file, mesh.services().size(),
                mesh.edge().replicas());
        return MeshTopology.of(mesh);
    }

    /** The listener to bind: the mesh file's first, or the configured one. */
    private GatewayConfig.Listen listen() {
        if (topology == null || topology.file() == null) {
            return config.listen();
        }
        dev.shmesh.mesh.Listener first = topology.file().listeners().getFirst();
        int backlog = config.listen().backlog();
        return new GatewayConfig.Listen() {
            @Override
            public String host() {
                return first.address();
            }

            @Override
            public int port() {
                return first.port();
            }

            @Override
            public int backlog() {
                return backlog;
            }
        };
    }

    /**
     * The root incarnation: check what the unprivileged user will need, give it the run dir, bind the listeners,
     * then drop root on every thread and re-execute ({@link PrivilegeDrop}). Never returns normally.
     */
    private void dropRootAndReexec(Path workerJar) throws IOException {
        PrivilegeDrop.User user = PrivilegeDrop.resolve(config.gateway().user());
        List<Path> needed = new ArrayList<>();
        needed.add(Path.of(System.getProperty("java.home")));
        for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            if (!entry.isEmpty()) {
                needed.add(Path.of(entry).toAbsolutePath().getParent()); // a fast-jar reads its lib/ beside it
                needed.add(Path.of(entry));
            }
        }
        if (workerJar != null) {
            needed.add(workerJar.getParent());
            needed.add(workerJar);
        }
        if (topology.file() != null) {
            needed.add(topology.file().source()); // the unprivileged incarnation reads it again
            for (dev.shmesh.mesh.ServiceSpec s : topology.file().services()) {
                needed.add(s.artifact().getParent());
                needed.add(s.artifact());
            }
        }
        config.worker().jvmOptions().map(Path::of).ifPresent(needed::add);
        PrivilegeDrop.checkReachable(user, needed, List.of(
                Path.of("").toAbsolutePath(), // relative paths of the command line resolve against it
                Path.of(config.runDir()).toAbsolutePath().normalize().getParent())); // the run dir itself is handed over
        Path runDir = RunDir.prepareForDrop(config.runDir(), user.uid());
        PrivilegeDrop.handOver(user, runDir, Supervisor.meshName(config, topology));
        Listeners bound = Listeners.open(listen());
        try {
            PrivilegeDrop.dropAndReexec(user, bound);
        } catch (IOException | RuntimeException e) {
            // some ids may be changed already: this process must not go on serving half-dropped
            throw new IllegalStateException("dropping root to " + user + " failed: " + e.getMessage()
                    + "; the gateway stops (it never serves as root)", e);
        }
        throw new IllegalStateException("execve returned");
    }

    /**
     * The gateway's own seccomp filter, armed once its listeners are bound: from here no thread of the
     * gateway can open an inet or packet socket (so no new listener and no outbound connection), nor
     * reach the kernel attack surface (bpf, io_uring, ptrace, modules, kexec...). It is a denylist
     * because every child inherits it and bwrap must still build its boxes.
     */
    private void armOwnFilter() throws dev.shmesh.sandbox.SandboxException {
        try {
            dev.shmesh.sandbox.SandboxReport report =
                    dev.shmesh.sandbox.Sandbox.armSeccomp(dev.shmesh.sandbox.SandboxPolicy.named("gateway"));
            LOG.infof("gateway seccomp filter armed on %d threads: no new inet sockets from here on", report.threads());
        } catch (dev.shmesh.sandbox.SandboxException e) {
            if (config.strict()) {
                throw e;
            }
            ownFilterDegradation = e.getMessage();
            LOG.warnf("gateway runs DEGRADED without its own seccomp filter: %s", e.getMessage());
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        stop();
    }

    synchronized void stop() {
        if (supervisor != null) {
            LOG.info("stopping workers");
            supervisor.stopAll();
            supervisor = null;
        }
        if (control != null) {
            control.close();
            control = null;
        }
        if (listeners != null) {
            listeners.close();
            listeners = null;
        }
        if (meshLock != null) {
            meshLock.release(); // removes what of this mesh's shared memory the broker left
            meshLock = null;
        }
    }

    /** The /status document. */
    Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        Supervisor sup = supervisor;
        Listeners ls = listeners;
        ControlServer cs = control;
        status.put("mesh", topology == null ? config.mesh() : Supervisor.meshName(config, topology));
        Map<String, Object> self = new LinkedHashMap<>();
        self.put("pid", ProcessHandle.current().pid());
        self.put("uptimeMs", java.time.Duration.between(startedAt, Instant.now()).toMillis());
        self.put("uid", dev.shmesh.linux.PrivateFiles.effectiveUid());
        self.put("droppedRootTo", droppedTo);
        dev.shmesh.sandbox.SandboxReport report = dev.shmesh.sandbox.SandboxReport.ofThisProcess();
        self.put("sandbox", report.toMap());
        // CAP_NET_BIND_SERVICE may stay effective on some threads (capabilities are per-thread); what
        // matters is that no thread can create an inet socket to bind with
        self.put("bindAgain", dev.shmesh.sandbox.Sandbox.armed() && report.seccompMode() == 2
                        && report.threads() == report.threadsWithSeccompFilter()
                ? "denied: the gateway filter blocks socket(AF_INET/AF_INET6) on " + report.threads() + "/"
                        + report.threads() + " threads"
                : "possible: no gateway seccomp filter (" + ownFilterDegradation + ")");
        self.put("degraded", ownFilterDegradation);
        status.put("gateway", self);
        List<Map<String, Object>> listenerList = new ArrayList<>();
        if (ls != null) {
            for (Listeners.Listener l : ls.all()) {
                listenerList.add(Map.of("name", l.name(), "address", l.addressText(), "fd", l.fd(), "backlog", l.backlog()));
            }
        }
        status.put("listeners", listenerList);
        status.put("controlSocket", cs == null ? null : cs.socketPath().toString());
        status.put("rejectedPeers", cs == null ? 0 : cs.rejectedPeers());
        status.put("isolation", sup == null ? Map.of() : sup.isolation());
        ShmMetrics shm = shmMetrics;
        status.put("rings", shm == null ? Map.of() : shm.snapshot());
        status.put("workers", sup == null ? List.of() : sup.snapshot());
        return status;
    }

    boolean anyWorkerReady() {
        Supervisor sup = supervisor;
        return sup != null && sup.count(WorkerSlot.State.READY) > 0;
    }

    private void registerMetrics() {
        for (WorkerSlot.State state : WorkerSlot.State.values()) {
            Gauge.builder("shmesh_workers", this, g -> {
                        Supervisor sup = g.supervisor;
                        return sup == null ? 0 : sup.count(state);
                    })
                    .description("workers by state")
                    .tag("state", state.label())
                    .register(registry);
        }
        FunctionCounter.builder("shmesh_worker_restarts", this, g -> {
                    Supervisor sup = g.supervisor;
                    return sup == null ? 0 : sup.totalRestarts();
                })
                .description("worker restarts by the supervisor")
                .register(registry);
        FunctionCounter.builder("shmesh_control_rejected_peers", this, g -> {
                    ControlServer cs = g.control;
                    return cs == null ? 0 : cs.rejectedPeers();
                })
                .description("control-socket peers dropped for a protocol or authentication violation")
                .register(registry);
    }
}
