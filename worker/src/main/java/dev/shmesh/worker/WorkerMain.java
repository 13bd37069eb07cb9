package dev.shmesh.worker;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.io.IOException;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * Worker entry point.
 *
 * <p>Spawned by the gateway (SHMESH_CONTROL_SOCKET and SHMESH_WORKER_ID set, the one-time token on stdin): it runs
 * the control handshake <em>before</em> Quarkus starts, so that Vert.x is built with the handed
 * listener, then reports Ready once Quarkus serves. Without SHMESH_CONTROL_SOCKET it runs
 * standalone and binds {@code quarkus.http.port} itself (the single-process baseline in bench/).
 */
@QuarkusMain
public class WorkerMain implements QuarkusApplication {
    private static final Logger LOG = Logger.getLogger(WorkerMain.class);
    /** Exit code when the gateway handshake fails (EX_PROTOCOL of sysexits.h). */
    static final int EXIT_HANDSHAKE_FAILED = 76;
    /** Exit code when strict and the seccomp filter cannot be armed (EX_NOPERM). */
    static final int EXIT_SANDBOX_FAILED = 77;

    private static volatile ControlChannel control;

    /**
     * The one-time token a host-mode gateway writes into this process's stdin (one line): never on a command line or
     * in the environment, where other local users or processes of this uid could read it from /proc.
     */
    static String tokenFromStdin() {
        StringBuilder token = new StringBuilder();
        try {
            java.io.InputStream in = new java.io.FileInputStream(java.io.FileDescriptor.in);
            for (int c = in.read(); c >= 0 && c != '\n' && token.length() < 256; c = in.read()) {
                token.append((char) c);
            }
        } catch (IOException e) {
            System.err.println("shmesh worker: cannot read the spawn token from stdin: " + e.getMessage());
        }
        return token.toString();
    }

    public static void main(String... args) {
        String socket = System.getenv("SHMESH_CONTROL_SOCKET");
        String role = System.getenv().getOrDefault("SHMESH_ROLE", "edge");
        if (socket != null && !socket.isBlank()) {
            String token = "stdin".equals(System.getenv("SHMESH_TOKEN_FROM"))
                    ? tokenFromStdin()
                    : System.getenv().getOrDefault("SHMESH_TOKEN", ""); // container mode: the mesh token
            dev.shmesh.api.control.v1.Role protoRole = switch (role) {
                case "broker" -> dev.shmesh.api.control.v1.Role.ROLE_BROKER;
                case "compute" -> dev.shmesh.api.control.v1.Role.ROLE_COMPUTE;
                case "edge" -> dev.shmesh.api.control.v1.Role.ROLE_EDGE;
                default -> {
                    System.err.println("shmesh worker: SHMESH_ROLE=" + role + " is not one of: edge, compute, broker");
                    System.exit(2);
                    yield null;
                }
            };
            try {
                control = ControlChannel.connect(Path.of(socket), WorkerIdentity.id(), token, protoRole);
                switch (role) {
                    case "broker" -> runBroker(control);
                    case "compute" -> runCompute(control);
                    default -> {
                        ComputeClient computes = ComputeClient.start();
                        control.onConnection((c, end) -> computes.offer(c.getReplica(), end));
                    }
                }
            } catch (IOException e) {
                System.err.printf(
                        "shmesh worker %s: control handshake with the gateway at %s failed: %s%n"
                                + "  A worker is started by the gateway (./shmesh up); to run one alone, unset SHMESH_CONTROL_SOCKET.%n",
                        WorkerIdentity.id(), socket, e.getMessage());
                System.exit(EXIT_HANDSHAKE_FAILED);
            }
            HandedListeners.Listener http = HandedListeners.primary();
            if (http != null) {
                // the bind is swallowed; these only make Quarkus report the real address
                int colon = http.address().lastIndexOf(':');
                System.setProperty("quarkus.http.host", http.address().substring(0, colon).replace("[", "").replace("]", ""));
                System.setProperty("quarkus.http.port", http.address().substring(colon + 1));
            }
        }
        Quarkus.run(WorkerMain.class, args);
    }

    @Override
    public int run(String... args) throws Exception {
        armSeccompIfAsked();
        ControlChannel channel = control;
        if (channel != null) {
            channel.ready(why -> {
                switch (why) {
                    case DRAIN, STOP -> LOG.infof("gateway asked worker %s to %s", WorkerIdentity.id(), why);
                    case GATEWAY_GONE -> {
                        // the gateway counts us gone: stop calling compute workers now, not at exit
                        ComputeClient.stop();
                        long grace = Long.getLong("shmesh.worker.orphan-grace-ms", 2000);
                        LOG.warnf("control connection lost: the gateway is gone; worker %s exits in %d ms",
                                WorkerIdentity.id(), grace);
                        sleep(grace);
                    }
                }
                Quarkus.asyncExit(0);
                // if a shutdown hook hangs, do not linger as an orphan
                Thread.ofPlatform().daemon().start(() -> {
                    sleep(10_000);
                    Runtime.getRuntime().halt(0);
                });
            });
            LOG.infof("worker %s ready, serving %s", WorkerIdentity.id(), HandedListeners.all().keySet());
        }
        if (Boolean.getBoolean("shmesh.worker.aot-training")) {
            return 0; // the build's AOT training run (worker/pom.xml): started, so what a start loads is recorded
        }
        Quarkus.waitForExit();
        return 0;
    }

    /**
     * Console logging for the roles that run without Quarkus (broker, compute): the same line format as
     * the Quarkus roles, through java.util.logging, to stderr.
     */
    private static void plainLogging() {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        for (java.util.logging.Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        java.util.logging.Handler console = new java.util.logging.StreamHandler(System.err, new java.util.logging.Formatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                String level = switch (r.getLevel().getName()) {
                    case "SEVERE" -> "ERROR";
                    case "WARNING" -> "WARN ";
                    default -> "INFO ";
                };
                return String.format("%1$tH:%1$tM:%1$tS.%1$tL %2$s [worker %3$s] %4$s%n",
                        r.getMillis(), level, WorkerIdentity.id(), formatMessage(r));
            }
        }) {
            @Override
            public synchronized void publish(java.util.logging.LogRecord r) {
                super.publish(r);
                flush();
            }
        };
        console.setLevel(java.util.logging.Level.INFO);
        root.addHandler(console);
        root.setLevel(java.util.logging.Level.INFO);
    }

    private static final java.util.logging.Logger PLAIN = java.util.logging.Logger.getLogger("dev.shmesh.worker.role");

    /** The broker role: no Quarkus, no HTTP; owns the shm segments. Never returns. */
    private static void runBroker(ControlChannel channel) throws IOException {
        plainLogging();
        BrokerProcess broker = BrokerProcess.open(System.getenv().getOrDefault("SHMESH_MESH", "default"),
                channel.assign().getMember(), channel.assign().getGeneration());
        channel.sendSegments(broker.segmentFds());
        armSeccompIfAsked();
        channel.info(broker::info);
        channel.onMembers(broker::onMembers);
        Thread duty = Thread.ofPlatform().name("shmesh-broker").start(broker::run);
        channel.ready(why -> {
            if (why == ControlChannel.Shutdown.GATEWAY_GONE) {
                PLAIN.warning("the gateway is gone; leaving the segments for the next broker to re-attach");
            } else {
                broker.unlink();
            }
            System.exit(0);
        });
        PLAIN.info("broker ready (member " + channel.assign().getMember() + "): redelivering the jobs of gone members"
                + " and expired leases, watching for fenced rings");
        joinForever(duty);
    }

    /**
     * The compute role: no Quarkus, no listener. Serves {@code shmesh.demo.v1.Compute} over gRPC on shared memory, on
     * the connections the gateway hands over (one per edge worker). Never returns.
     */
    private static void runCompute(ControlChannel channel) throws IOException {
        plainLogging();
        dev.shmesh.grpc.shm.HandedConnections handed = new dev.shmesh.grpc.shm.HandedConnections();
        ComputeService service = new ComputeService(WorkerIdentity.id());
        io.grpc.Server server = dev.shmesh.grpc.shm.ShmServerBuilder.forHandedConnections(handed)
                .maxInboundMessageSize(Digests.MAX_DATA + (64 << 10))
                // grpc-java's default executor, not direct: a digest of 4 MiB must not hold up the connection's thread
                .addService(service).build().start();
        armSeccompIfAsked();
        channel.info(() -> java.util.Map.of("compute.digests", Long.toString(service.done()),
                "compute.inFlight", Long.toString(service.inFlight())));
        channel.onConnection((c, end) -> handed.serve(end));
        channel.ready(why -> {
            server.shutdownNow();
            if (why == ControlChannel.Shutdown.GATEWAY_GONE) {
                sleep(Long.getLong("shmesh.worker.orphan-grace-ms", 2000));
            }
            System.exit(0);
        });
        PLAIN.info("compute worker ready: serving digests over gRPC on shared memory to the edge workers");
        try {
            server.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }

    private static void joinForever(Thread thread) {
        try {
            thread.join();
            // the loop ended (a fenced ring): keep reporting health until the gateway stops us
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }

    /**
     * Phase 2 of the sandbox: with the control connection open, the handed listener adopted and
     * Quarkus serving, lock this JVM into the policy named by SHMESH_SECCOMP (every thread, TSYNC).
     * From here on socket(), connect(), bind(), execve() and namespace calls fail with EPERM.
     */
    private static void armSeccompIfAsked() {
        String policy = System.getenv("SHMESH_SECCOMP");
        if (policy == null || policy.isBlank()) {
            return;
        }
        try {
            dev.shmesh.sandbox.SandboxReport report =
                    dev.shmesh.sandbox.Sandbox.armSeccomp(dev.shmesh.sandbox.SandboxPolicy.named(policy));
            PLAIN.info(String.format("seccomp policy '%s' armed on %d threads (CapEff=%s NoNewPrivs=%s)", policy,
                    report.threads(), report.toMap().get("capEff"), report.toMap().get("noNewPrivs")));
        } catch (dev.shmesh.sandbox.SandboxException e) {
            if ("1".equals(System.getenv("SHMESH_STRICT"))) {
                System.err.printf("shmesh worker %s: refusing to run without its seccomp filter (strict): %s%n",
                        WorkerIdentity.id(), e.getMessage());
                System.exit(EXIT_SANDBOX_FAILED);
            }
            PLAIN.warning("worker " + WorkerIdentity.id() + " runs DEGRADED without its seccomp filter: " + e.getMessage());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
