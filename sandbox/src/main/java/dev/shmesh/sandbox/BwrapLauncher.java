package dev.shmesh.sandbox;

import dev.shmesh.linux.KernelCapabilities;
import dev.shmesh.sandbox.SandboxPolicy.Mount;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Phase 1 of the sandbox, before the JVM: turns a {@link SandboxPolicy} and a command into a bubblewrap
 * ({@code bwrap}, Debian package {@code bubblewrap}) command line, and checks that bwrap can build the box here.
 *
 * <p>The box: new user/pid/net/ipc/uts/mount (and, when the kernel allows, cgroup) namespaces; further user
 * namespaces disabled inside; the policy's uid/gid; {@code --cap-drop ALL}; {@code --die-with-parent};
 * {@code --new-session} (the child gets no controlling terminal, so it cannot push input into the
 * operator's terminal with TIOCSTI; Ctrl-C therefore reaches only the parent, which stops its children —
 * and {@code --die-with-parent} kills them if it cannot); a cleared environment plus the variables given;
 * a fresh root holding only the system libraries, the JDK and app directories read-only, the run directory
 * read-write (for {@code control.sock}), a private {@code /tmp}, {@code /proc} and a minimal {@code /dev}.
 * bwrap sets no_new_privs before it execs the command. Only stdin/stdout/stderr are inherited
 * ({@link ProcessBuilder} closes every other descriptor).
 *
 * <p>Not thread-safe while being configured; {@link #argv} and {@link #launch} may be called from any thread
 * once configured.
 */
public final class BwrapLauncher {
    private final SandboxPolicy policy;
    private Path jdkDir = Path.of(System.getProperty("java.home"));
    private Path appDir;
    private Path runDir;
    private Path bwrap;
    private boolean strict;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<Path> extraBinds = new ArrayList<>();
    private final List<Path> extraRoBinds = new ArrayList<>();

    private BwrapLauncher(SandboxPolicy policy) {
        this.policy = policy;
    }

    /** A launcher for {@code policy}; set at least {@link #appDir} and {@link #runDir} before use. */
    public static BwrapLauncher of(SandboxPolicy policy) {
        return new BwrapLauncher(policy);
    }

    /** The JDK directory ({@code $JDK}), bound read-only at the same path; default: this JVM's {@code java.home}. */
    public BwrapLauncher jdkDir(Path dir) {
        this.jdkDir = dir.toAbsolutePath().normalize();
        return this;
    }

    /** The application directory ({@code $APP}: jars, jvm.options), bound read-only at the same path; the working directory. */
    public BwrapLauncher appDir(Path dir) {
        this.appDir = dir.toAbsolutePath().normalize();
        return this;
    }

    /** The run directory ({@code $RUN}) holding {@code control.sock}, bound read-write at the same path. */
    public BwrapLauncher runDir(Path dir) {
        this.runDir = dir.toAbsolutePath().normalize();
        return this;
    }

    /** An environment variable for the command; nothing else is passed. */
    public BwrapLauncher env(String name, String value) {
        if (name.isEmpty() || name.contains("=")) {
            throw new IllegalArgumentException("env name=" + name + " is not a variable name");
        }
        env.put(name, value);
        return this;
    }

    /** An extra read-write bind at the same path, e.g. {@code /dev/shm} for the broker. */
    public BwrapLauncher bind(Path path) {
        extraBinds.add(path.toAbsolutePath().normalize());
        return this;
    }

    /** An extra read-only bind at the same path. */
    public BwrapLauncher roBind(Path path) {
        extraRoBinds.add(path.toAbsolutePath().normalize());
        return this;
    }

    /** The bwrap binary; default: {@code bwrap} on PATH. */
    public BwrapLauncher bwrapBinary(Path path) {
        this.bwrap = path;
        return this;
    }

    /** When true, {@link #launch} refuses to start the command outside the box; default false (degraded start, reported). */
    public BwrapLauncher strict(boolean strict) {
        this.strict = strict;
        return this;
    }

    /**
     * The full bwrap command line for {@code command}. Looks at this host only to find bwrap, to ask it once
     * whether it knows {@code --disable-userns}, and to keep merged-/usr library symlinks as symlinks.
     */
    public List<String> argv(List<String> command) {
        if (appDir == null || runDir == null) {
            throw new IllegalStateException("appDir=" + appDir + ", runDir=" + runDir + ": both must be set");
        }
        if (command.isEmpty()) {
            throw new IllegalArgumentException("command is empty");
        }
        List<String> a = new ArrayList<>();
        a.add(bwrap != null ? bwrap.toString() : bwrapPath().map(Path::toString).orElse("bwrap"));
        for (Namespace n : Namespace.values()) {
            if (policy.namespaces().contains(n) && n.bwrapFlag() != null) {
                a.add(n.bwrapFlag());
            }
        }
        if (policy.namespaces().contains(Namespace.USER)) {
            if (supportsDisableUserns()) {
                a.add("--disable-userns"); // bwrap >= 0.8: user.max_user_namespaces=0 inside; seccomp denies them too
            }
            a.addAll(List.of("--uid", Integer.toString(policy.uid()), "--gid", Integer.toString(policy.gid())));
        }
        if (policy.namespaces().contains(Namespace.UTS)) {
            a.addAll(List.of("--hostname", "shmesh-" + policy.name()));
        }
        a.add("--die-with-parent");
        a.add("--new-session");
        a.addAll(List.of("--cap-drop", "ALL"));
        for (String cap : policy.keepCapabilities()) {
            a.addAll(List.of("--cap-add", "CAP_" + cap));
        }
        a.add("--clearenv");
        env.forEach((k, v) -> a.addAll(List.of("--setenv", k, v)));
        // fresh file systems first, then binds on top of them (a run dir under /tmp must not be hidden by --tmpfs /tmp)
        List<Mount> mounts = new ArrayList<>(policy.mounts());
        mounts.sort(Comparator.comparingInt(m -> switch (m.kind()) {
            case PROC, DEV, TMPFS -> 0;
            default -> 1;
        }));
        for (Mount m : mounts) {
            switch (m.kind()) {
                case PROC -> a.addAll(List.of("--proc", m.source()));
                case DEV -> a.addAll(List.of("--dev", m.source()));
                case TMPFS -> a.addAll(List.of("--tmpfs", m.source()));
                case LIBS -> libraryMounts(a);
                case RO_BIND -> same(a, "--ro-bind", resolve(m.source()));
                case BIND -> same(a, "--bind", resolve(m.source()));
                case BIND_TRY -> same(a, "--bind-try", resolve(m.source()));
            }
        }
        extraRoBinds.forEach(p -> same(a, "--ro-bind", p.toString()));
        extraBinds.forEach(p -> same(a, "--bind", p.toString()));
        a.addAll(List.of("--chdir", appDir.toString()));
        a.add("--");
        a.addAll(command);
        return a;
    }

    /** The outcome of {@link #preflight}: either the box can be built, or which step failed and why. */
    public record Preflight(boolean ok, String step, String detail, String runsWithout, String fix) {
        public SandboxException toException() {
            return new SandboxException(step, detail, runsWithout, fix, null);
        }
    }

    /**
     * Checks, for real, that bwrap is installed and can create this policy's namespaces on this host: runs
     * {@code bwrap <namespace flags> --ro-bind / / true}. Takes a few milliseconds.
     */
    public Preflight preflight() {
        String without = "no namespaces: the command would share this host's network, pids and file system, with the parent's capabilities";
        Optional<Path> b = bwrapPath();
        if (b.isEmpty()) {
            String where = bwrap != null ? bwrap + " is not an executable file" : "bwrap is not on PATH=" + System.getenv("PATH");
            return new Preflight(false, "find bwrap", where, without,
                    "apt-get install bubblewrap (Debian/Ubuntu; Fedora: dnf install bubblewrap)");
        }
        List<String> probe = new ArrayList<>();
        probe.add(b.get().toString());
        for (Namespace n : policy.namespaces()) {
            if (n.bwrapFlag() != null) {
                probe.add(n.bwrapFlag());
            }
        }
        if (policy.namespaces().contains(Namespace.USER) && supportsDisableUserns()) {
            probe.add("--disable-userns");
        }
        probe.addAll(List.of("--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/", "/", "true"));
        Process p = null;
        try {
            p = new ProcessBuilder(probe).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                return new Preflight(false, "run bwrap", String.join(" ", probe) + " did not finish in 10 s", without, "check the host's load");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.exitValue() == 0) {
                return new Preflight(true, "none", "bwrap created " + policy.namespaces() + " namespaces", "", "");
            }
            KernelCapabilities.Feature userns = KernelCapabilities.userNamespaces();
            if (!userns.available()) {
                return new Preflight(false, "create user namespace", "bwrap: " + out + "; " + userns.detail(), without,
                        "allow unprivileged user namespaces: sysctl -w user.max_user_namespaces=15000 and, on Debian < 11, "
                                + "sysctl -w kernel.unprivileged_userns_clone=1; in a container, run with the generated seccomp profile "
                                + "(deploy/seccomp) instead of the launcher");
            }
            return new Preflight(false, "run bwrap", "'" + String.join(" ", probe) + "' exited " + p.exitValue() + ": " + out,
                    without, "run the command above by hand to see bwrap's own error");
        } catch (IOException e) {
            return new Preflight(false, "run bwrap", e.getMessage(), without, "check that " + b.get() + " is executable");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Preflight(false, "run bwrap", "interrupted", without, "retry");
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    /** A command ready to start, and whether it will run inside the box. */
    public record Launch(ProcessBuilder processBuilder, boolean sandboxed, Preflight preflight) {
        /** Empty when sandboxed; otherwise the operator-facing sentence saying which step failed, why, what it runs without and the fix. */
        public String degradation() {
            return sandboxed ? "" : preflight.toException().getMessage();
        }
    }

    /**
     * Prepares {@code command}: inside bwrap when {@link #preflight} passes; otherwise, unless {@link #strict},
     * the bare command with the same cleared environment, with {@link Launch#degradation()} saying what is missing.
     *
     * @throws SandboxException when strict and the box cannot be built
     */
    public Launch launch(List<String> command) throws SandboxException {
        Preflight pre = preflight();
        if (pre.ok()) {
            return new Launch(builder(argv(command)), true, pre);
        }
        if (strict) {
            throw pre.toException();
        }
        return new Launch(builder(command), false, pre);
    }

    private ProcessBuilder builder(List<String> argv) {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().putAll(env);
        if (appDir != null) {
            pb.directory(appDir.toFile());
        }
        return pb;
    }

    private static final Map<Path, Boolean> DISABLE_USERNS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Whether this bwrap knows {@code --disable-userns} (0.8.0+; Ubuntu 22.04 ships 0.6). Asked once per binary. */
    private boolean supportsDisableUserns() {
        Optional<Path> b = bwrapPath();
        if (b.isEmpty()) {
            return true; // argv for another host: assume a current bwrap
        }
        return DISABLE_USERNS.computeIfAbsent(b.get(), path -> {
            try {
                Process p = new ProcessBuilder(path.toString(), "--help").redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
                String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(5, TimeUnit.SECONDS);
                return help.contains("--disable-userns");
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
    }

    private Optional<Path> bwrapPath() {
        if (bwrap != null) {
            return Files.isRegularFile(bwrap) && Files.isExecutable(bwrap) ? Optional.of(bwrap) : Optional.empty();
        }
        return KernelCapabilities.onPath("bwrap");
    }

    private String resolve(String source) {
        return switch (source) {
            case "$JDK" -> jdkDir.toString();
            case "$APP" -> appDir.toString();
            case "$RUN" -> runDir.toString();
            default -> {
                if (source.startsWith("$")) {
                    throw new IllegalArgumentException("mount source=" + source + " is not $JDK, $APP or $RUN");
                }
                yield source;
            }
        };
    }

    private static void same(List<String> a, String option, String path) {
        a.addAll(List.of(option, path, path));
    }

    /** glibc and the dynamic loader; symlinked directories (merged /usr) stay symlinks. */
    private static void libraryMounts(List<String> a) {
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib", "/lib64", "/lib/x86_64-linux-gnu")) {
            Path p = Path.of(dir);
            try {
                if (Files.isSymbolicLink(p)) {
                    a.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), dir));
                } else if (Files.isDirectory(p) && !(dir.equals("/lib/x86_64-linux-gnu") && Files.isSymbolicLink(Path.of("/lib")))) {
                    same(a, "--ro-bind", dir);
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read symlink " + dir + ": " + e.getMessage(), e);
            }
        }
    }
}
