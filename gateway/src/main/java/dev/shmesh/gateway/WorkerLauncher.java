package dev.shmesh.gateway;

import dev.shmesh.sandbox.BwrapLauncher;
import dev.shmesh.sandbox.SandboxException;
import dev.shmesh.sandbox.SandboxPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Phase 1 of the sandbox for worker processes: turns "run the worker JVM" into the command that
 * runs it isolated, per {@code shmesh.worker.isolation}:
 * <ul>
 *   <li>{@code sandbox} — bubblewrap with the {@code worker} policy (new user/pid/net/ipc/uts/mount
 *       namespaces, a fresh root with the JDK and the app read-only, the run dir read-write, no
 *       capabilities, cleared environment, die-with-parent); the worker then arms its seccomp filter;
 *   <li>{@code netns} — only an empty network namespace through {@code unshare}, then seccomp;
 *   <li>{@code none} — nothing; said loudly at start.
 * </ul>
 * Where bwrap cannot build the box, the worker runs without it and {@link #degradation()} says which
 * step failed and how to fix it — unless strict, which refuses instead.
 */
final class WorkerLauncher {
    private static final Logger LOG = Logger.getLogger(WorkerLauncher.class);

    private final String isolation;
    private final boolean strict;
    private final Path jar;
    private final Path jvmOptions;
    private final List<String> jvmArgs;
    private final Path runDir;
    private volatile String degradation = "";

    WorkerLauncher(GatewayConfig config, Path jar, Path runDir) {
        this.isolation = config.worker().isolation();
        this.strict = config.strict();
        this.jar = jar;
        this.jvmOptions = config.worker().jvmOptions().map(Path::of).map(Path::toAbsolutePath).orElse(null);
        this.jvmArgs = config.worker().jvmArgs().map(a -> List.of(a.trim().split("\\s+"))).orElse(List.of());
        this.runDir = runDir.toAbsolutePath();
        if (!List.of("sandbox", "netns", "none").contains(isolation)) {
            throw new IllegalStateException("shmesh.worker.isolation=" + isolation + " is not one of: sandbox, netns, none");
        }
        if (jvmOptions != null && !Files.isRegularFile(jvmOptions)) {
            throw new IllegalStateException("shmesh.worker.jvm-options=" + jvmOptions + " does not exist");
        }
    }

    /** Checks once, before anything is spawned, that the chosen isolation can be had (strict: or else fails). */
    void preflight() throws SandboxException {
        switch (isolation) {
            case "sandbox" -> {
                BwrapLauncher.Preflight pre = bwrap("worker", Map.of()).preflight();
                if (!pre.ok()) {
                    degradation = pre.toException().getMessage();
                    if (strict) {
                        throw pre.toException();
                    }
                    LOG.warnf("workers run DEGRADED, without the bubblewrap box: %s", degradation);
                }
            }
            case "none" -> {
                degradation = "--isolation none: workers run with the gateway's privileges, namespaces and no seccomp filter";
                if (strict) {
                    throw new SandboxException("isolation", "--isolation none was asked for", "no isolation",
                            "drop --isolation none (or --strict)", null);
                }
                LOG.warn(degradation);
            }
            default -> { }
        }
    }

    /** The isolation mode and, when degraded, why. */
    Map<String, Object> status() {
        return Map.of("mode", isolation, "strict", strict, "degraded", degradation);
    }

    /**
     * A process builder for the process of {@code slot} (edge, compute, service replica: the worker policy; broker:
     * the broker policy, which also binds /dev/shm) with {@code env}; output goes to the gateway's. A service replica
     * runs its own artifact, with its mesh-file environment, heap limit and extra read-only paths.
     */
    ProcessBuilder processBuilder(MeshTopology.Slot slot, Map<String, String> env) throws SandboxException {
        String policy = slot.role() == dev.shmesh.api.control.ProcessRole.BROKER ? "broker" : "worker";
        Map<String, String> workerEnv = new java.util.LinkedHashMap<>();
        List<String> extraJvmArgs = new ArrayList<>();
        List<Path> extraPaths = new ArrayList<>();
        Path jar = this.jar;
        if (slot.service() != null) {
            dev.shmesh.mesh.ServiceSpec service = slot.service();
            jar = service.artifact();
            workerEnv.putAll(service.env()); // first: the mesh's own variables below win (the parser refuses SHMESH_*)
            service.resources().heapBytes().ifPresent(bytes -> extraJvmArgs.add("-Xmx" + (bytes >> 10) + "k"));
            extraPaths.addAll(service.sandbox().paths());
        }
        workerEnv.putAll(env);
        if (!isolation.equals("none")) {
            workerEnv.put("SHMESH_SECCOMP", policy);
        }
        if (strict) {
            workerEnv.put("SHMESH_STRICT", "1");
        }
        ProcessBuilder pb;
        switch (isolation) {
            case "sandbox" -> {
                BwrapLauncher.Launch launch = bwrap(policy, workerEnv, jar, extraPaths)
                        .launch(javaCommand(jar, extraJvmArgs));
                pb = launch.processBuilder();
                if (!launch.sandboxed()) {
                    degradation = launch.degradation();
                }
            }
            case "netns" -> {
                List<String> command = new ArrayList<>();
                command.add("unshare");
                if (PeerCheck.ownUid() != 0) {
                    // unprivileged: a user namespace grants the right to create the network namespace
                    command.add("--user");
                    command.add("--map-current-user");
                }
                command.add("--net");
                command.addAll(javaCommand(jar, extraJvmArgs));
                pb = new ProcessBuilder(command);
                pb.environment().putAll(workerEnv);
            }
            default -> {
                pb = new ProcessBuilder(javaCommand(jar, extraJvmArgs));
                pb.environment().putAll(workerEnv);
            }
        }
        // stdin stays a pipe: the supervisor writes the one-time token into it (never argv or environment)
        return pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
    }

    private BwrapLauncher bwrap(String policy, Map<String, String> env) {
        return bwrap(policy, env, jar, List.of());
    }

    private BwrapLauncher bwrap(String policy, Map<String, String> env, Path jar, List<Path> extraPaths) {
        BwrapLauncher launcher = BwrapLauncher.of(SandboxPolicy.named(policy))
                .jdkDir(Path.of(System.getProperty("java.home")))
                .appDir(jar.getParent())
                .runDir(runDir)
                .strict(strict);
        if (jvmOptions != null) {
            launcher.roBind(jvmOptions); // the only file outside the JDK and app dirs the worker reads
        }
        extraPaths.forEach(launcher::roBind);
        env.forEach(launcher::env);
        return launcher;
    }

    private List<String> javaCommand(Path jar, List<String> extraJvmArgs) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (jvmOptions != null) {
            command.add("@" + jvmOptions);
        }
        Path aot = jar.resolveSibling("app.aot");
        if (Files.isRegularFile(aot)) {
            // the AOT cache the build trained for this jar, this JDK and jvm.options: a faster, smaller start (a
            // cache from another JDK build is ignored by the JVM with a warning)
            command.add("-XX:AOTCache=" + aot);
        }
        command.addAll(jvmArgs);
        command.addAll(extraJvmArgs);
        command.add("-jar");
        command.add(jar.toString());
        return command;
    }
}
