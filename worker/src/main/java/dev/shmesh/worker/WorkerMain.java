package dev.shmesh.worker;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import dev.shmesh.service.ControlChannel;
import dev.shmesh.service.HandedListener;
import dev.shmesh.service.InJvmSandbox;
import dev.shmesh.service.WorkerEnvironment;
import java.io.IOException;
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

    private static volatile ControlChannel control;
    private static volatile WorkerEnvironment ENV;

    public static void main(String... args) {
        WorkerEnvironment env;
        try {
            env = WorkerEnvironment.current();
        } catch (IllegalArgumentException e) {
            System.err.println("shmesh worker: " + e.getMessage());
            System.exit(2);
            return;
        }
        ENV = env;
        if (env.inMesh()) {
            try {
                control = ControlChannel.connect(env, ControlChannel.token(env));
                control.listeners().forEach(HandedListeners::add);
                control.requests(WorkerIdentity::requests);
                switch (env.role()) {
                    case BROKER -> runBroker(control);
                    case COMPUTE -> runCompute(control);
                    case EDGE -> {
                        ComputeClient computes = ComputeClient.start();
                        MeshRouter router = MeshRouter.start(control.assign().getRoutesList());
                        control.onConnection((c, end) -> {
                            if (c.getService().equals(ComputeClient.SERVICE)) {
                                computes.offer(c.getReplica(), end);
                            } else {
                                router.connections().accept(c, end);
                            }
                        });
                    }
                    case SERVICE -> {
                        System.err.println("shmesh worker: SHMESH_ROLE=service is for a service's own jar (its main"
                                + " calls MeshService.join()), not the edge worker's");
                        System.exit(2);
                    }
                }
            } catch (IOException e) {
                System.err.printf(
                        "shmesh worker %s: control handshake with the gateway at %s failed: %s%n"
                                + "  A worker is started by the gateway (./shmesh up); to run one alone, unset SHMESH_CONTROL_SOCKET.%n",
                        env.instanceId(), env.controlSocket().orElseThrow(), e.getMessage());
                System.exit(EXIT_HANDSHAKE_FAILED);
            }
            HandedListener http = HandedListeners.primary();
            if (http != null) {
                // the bind is swallowed; these only make Quarkus report the real address
                System.setProperty("quarkus.http.host", http.host());
                System.setProperty("quarkus.http.port", Integer.toString(http.port()));
            }
        }
        Quarkus.run(WorkerMain.class, args);
    }

    @Override
    public int run(String... args) throws Exception {
        InJvmSandbox.armIfAsked(ENV);
        ControlChannel channel = control;
        if (channel != null) {
            channel.ready(why -> {
                switch (why) {
                    case DRAIN, STOP -> LOG.infof("gateway asked worker %s to %s", WorkerIdentity.id(), why);
                    case GATEWAY_GONE -> {
                        // the gateway counts us gone: stop calling compute workers now, not at exit
                        ComputeClient.stop();
                        MeshRouter.stopCalling();
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

    private static final java.util.logging.Logger PLAIN = java.util.logging.Logger.getLogger("dev.shmesh.worker.role");

    /** The broker role: no Quarkus, no HTTP; owns the shm segments. Never returns. */
    private static void runBroker(ControlChannel channel) throws IOException {
        dev.shmesh.service.MeshLogging.installPlain("worker", ENV.instanceId());
        BrokerProcess broker = BrokerProcess.open(ENV.mesh(),
                channel.assign().getMember(), channel.assign().getGeneration());
        channel.sendSegments(broker.segmentFds());
        InJvmSandbox.armIfAsked(ENV);
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
        dev.shmesh.service.MeshLogging.installPlain("worker", ENV.instanceId());
        dev.shmesh.grpc.shm.HandedConnections handed = new dev.shmesh.grpc.shm.HandedConnections();
        ComputeService service = new ComputeService(WorkerIdentity.id());
        io.grpc.Server server = dev.shmesh.grpc.shm.ShmServerBuilder.forHandedConnections(handed)
                .maxInboundMessageSize(Digests.MAX_DATA + (64 << 10))
                // grpc-java's default executor, not direct: a digest of 4 MiB must not hold up the connection's thread
                .addService(service).build().start();
        InJvmSandbox.armIfAsked(ENV);
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
