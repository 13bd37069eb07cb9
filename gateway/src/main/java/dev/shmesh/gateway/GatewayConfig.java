package dev.shmesh.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * Gateway configuration, prefix {@code shmesh}. Every key can be set in a config file
 * ({@code --config FILE}), as a system property, as an environment variable
 * ({@code shmesh.listen.port} = {@code SHMESH_LISTEN_PORT}) or by a {@link GatewayMain} flag.
 */
@ConfigMapping(prefix = "shmesh")
public interface GatewayConfig {

    /** The mesh name: it prefixes shm segment names and tells meshes on one host apart. */
    @WithDefault("default")
    String mesh();

    /**
     * {@code host}: the gateway spawns and supervises its workers (the default). {@code container}: a
     * container runtime starts the workers; the gateway spawns nothing and accepts any worker that
     * presents {@link #meshToken()} from the gateway's own uid (pids of other containers are not
     * visible, so there is no pid check).
     */
    @WithDefault("host")
    String mode();

    /**
     * Refuse to run degraded: a worker that cannot be boxed is not started, a service that cannot arm
     * its seccomp filter exits. Also set by {@code SHMESH_STRICT=1}.
     */
    @WithDefault("false")
    boolean strict();

    /** The per-mesh secret workers present in container mode (at least 16 characters). */
    Optional<String> meshToken();

    /**
     * The mesh file ({@code shmesh.yaml}, see docs/mesh-file.md): the listeners, edge workers and services to run.
     * Unset: the built-in demo (edge workers with the demo service, a broker, compute workers).
     */
    Optional<String> meshFile();

    /** Where the control socket lives; created with mode 0700 when missing. */
    @WithDefault("run")
    String runDir();

    Listen listen();

    Identity gateway();

    /** Who the gateway runs as once its listeners are bound. */
    interface Identity {
        /**
         * The user a gateway started as root becomes (a name, a uid or uid:gid): it drops root and every capability
         * on every thread before it starts any worker. Unset: {@code shmesh} when that user exists, else
         * {@code nobody} (65534). A dedicated user is better: every process of the chosen user may signal the
         * gateway's workers and, through the user namespaces it owns, ptrace them. Ignored when not started as root.
         */
        Optional<String> user();
    }

    Worker worker();

    Control control();

    Broker broker();

    /** The shared-memory broker and the compute workers that take jobs from it. */
    interface Broker {
        /** Start a broker process (role broker) that owns /dev/shm/shmesh-&lt;mesh&gt;-* segments. */
        @WithDefault("true")
        boolean enabled();

        /** Compute workers (no listener; the edge workers call them over gRPC on shared memory). */
        @WithDefault("1")
        int computes();
    }

    /** The mesh's listening socket. */
    interface Listen {
        @WithDefault("127.0.0.1")
        String host();

        @WithDefault("8080")
        int port();

        /** listen(2) backlog; the kernel caps it at net.core.somaxconn. */
        @WithDefault("4096")
        int backlog();
    }

    /** Worker processes and their supervision. */
    interface Worker {
        /** How many edge workers serve the mesh port. */
        @WithDefault("2")
        int count();

        /** The worker's runnable jar (worker/target/quarkus-app/quarkus-run.jar). */
        Optional<String> jar();

        /** The JVM flags file (jvm.options) passed to every worker as {@code @file}. */
        Optional<String> jvmOptions();

        /**
         * How a worker is isolated: {@code sandbox} (bubblewrap: new user/pid/net/ipc/uts/mount
         * namespaces, fresh read-only root, no capabilities; then the worker arms its seccomp
         * filter), {@code netns} (only an empty network namespace through {@code unshare}, plus the
         * seccomp filter) or {@code none} (no isolation at all; logged as a warning).
         */
        @WithDefault("sandbox")
        String isolation();

        /** Extra JVM arguments for workers, space separated. */
        Optional<String> jvmArgs();

        /** First restart delay; doubles per consecutive failure up to {@link #restartBackoffMax}. */
        @WithDefault("200ms")
        Duration restartBackoff();

        @WithDefault("10s")
        Duration restartBackoffMax();

        /** Restarts within {@link #crashLoopWindow} after which a worker is left down and reported. */
        @WithDefault("5")
        int crashLoopLimit();

        @WithDefault("60s")
        Duration crashLoopWindow();

        /** Time from spawn to Ready before the worker is killed and restarted. */
        @WithDefault("60s")
        Duration readyTimeout();

        /** How long a stopping worker gets to exit before SIGKILL. */
        @WithDefault("8s")
        Duration stopTimeout();
    }

    /** The control socket protocol. */
    interface Control {
        /** A connected peer must have sent a complete, valid Hello within this time of connecting (an absolute deadline). */
        @WithDefault("5s")
        Duration helloTimeout();

        /**
         * How many control connections may be waiting to authenticate at once; more are closed as they arrive. Each
         * costs a thread for at most {@link #helloTimeout}. The gateway's own workers connect once each, at spawn.
         */
        @WithDefault("16")
        int maxUnauthenticated();

        @WithDefault("1s")
        Duration heartbeatInterval();

        /** A ready worker silent for this long is killed and restarted. */
        @WithDefault("6s")
        Duration heartbeatTimeout();
    }
}
