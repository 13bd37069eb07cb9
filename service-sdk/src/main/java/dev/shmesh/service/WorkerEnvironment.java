package dev.shmesh.service;

import dev.shmesh.api.control.ProcessRole;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Everything the gateway (or a container runtime) tells a process of the mesh through its environment, parsed once.
 *
 * @param controlSocket {@code SHMESH_CONTROL_SOCKET}: the gateway's control socket; empty when running alone
 * @param instanceId {@code SHMESH_WORKER_ID}: the slot the gateway spawned this process for ({@code demo-2}); in
 *     container mode, derived from the role and the host name; {@code standalone-<pid>} alone
 * @param role {@code SHMESH_ROLE} (default {@code edge})
 * @param tokenFromStdin {@code SHMESH_TOKEN_FROM=stdin}: a host-mode gateway writes the one-time token into stdin
 * @param containerToken {@code SHMESH_TOKEN}: the mesh token a container presents
 * @param mesh {@code SHMESH_MESH} (default {@code default})
 * @param seccompPolicy {@code SHMESH_SECCOMP}: the sandbox policy whose filter this process arms once warm
 * @param strict {@code SHMESH_STRICT=1}: refuse to run without that filter
 * @param connectTimeout {@code SHMESH_CONNECT_TIMEOUT_MS} (default 30 s): how long to retry reaching the gateway
 * @param service {@code SHMESH_SERVICE}: the mesh service a container-mode service replica belongs to
 */
public record WorkerEnvironment(
        Optional<Path> controlSocket,
        String instanceId,
        ProcessRole role,
        boolean tokenFromStdin,
        String containerToken,
        String mesh,
        Optional<String> seccompPolicy,
        boolean strict,
        Duration connectTimeout,
        Optional<String> service) {

    /** This process's environment. */
    public static WorkerEnvironment current() {
        return of(System.getenv());
    }

    /** Parses {@code env}; an {@link IllegalArgumentException} saying which variable is wrong and how. */
    public static WorkerEnvironment of(Map<String, String> env) {
        Optional<Path> socket = nonBlank(env.get("SHMESH_CONTROL_SOCKET")).map(Path::of);
        ProcessRole role;
        try {
            role = ProcessRole.ofLabel(env.getOrDefault("SHMESH_ROLE", "edge"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SHMESH_ROLE: " + e.getMessage());
        }
        long connectMs;
        try {
            connectMs = Long.parseLong(env.getOrDefault("SHMESH_CONNECT_TIMEOUT_MS", "30000"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SHMESH_CONNECT_TIMEOUT_MS=" + env.get("SHMESH_CONNECT_TIMEOUT_MS")
                    + " is not a number of milliseconds");
        }
        return new WorkerEnvironment(socket, instanceId(env, socket.isPresent(), role), role,
                "stdin".equals(env.get("SHMESH_TOKEN_FROM")), env.getOrDefault("SHMESH_TOKEN", ""),
                env.getOrDefault("SHMESH_MESH", "default"), nonBlank(env.get("SHMESH_SECCOMP")),
                "1".equals(env.get("SHMESH_STRICT")), Duration.ofMillis(connectMs),
                nonBlank(env.get("SHMESH_SERVICE")));
    }

    /** Whether a gateway spawned this process (or a container runtime started it for one). */
    public boolean inMesh() {
        return controlSocket.isPresent();
    }

    private static String instanceId(Map<String, String> env, boolean inMesh, ProcessRole role) {
        Optional<String> id = nonBlank(env.get("SHMESH_WORKER_ID"));
        if (id.isPresent()) {
            return id.get(); // host mode: the gateway named the slot
        }
        if (inMesh) {
            // container mode: one process per container, named after what it is and its host name
            String what = role == ProcessRole.EDGE ? "worker"
                    : role == ProcessRole.SERVICE ? env.getOrDefault("SHMESH_SERVICE", "service") : role.label();
            return what + "-" + hostname(env);
        }
        return "standalone-" + ProcessHandle.current().pid();
    }

    private static String hostname(Map<String, String> env) {
        Optional<String> host = nonBlank(env.get("HOSTNAME"));
        if (host.isPresent()) {
            return host.get();
        }
        try {
            return java.nio.file.Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        } catch (java.io.IOException e) {
            return Long.toString(ProcessHandle.current().pid());
        }
    }

    private static Optional<String> nonBlank(String s) {
        return s == null || s.isBlank() ? Optional.empty() : Optional.of(s);
    }
}
