package dev.shmesh.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What this kernel and host let shmesh use, each answer with a human reason when missing. Used by the
 * launcher to report a degraded start and by tests to skip with a message naming what is missing.
 *
 * <p>Every probe is side-effect free for the calling process (the user-namespace probe runs a child).
 * Thread-safe; results are not cached.
 */
public final class KernelCapabilities {

    /** One probed feature: {@code detail} says what was found, or why it is missing and how to fix it. */
    public record Feature(String name, boolean available, String detail) {
        @Override
        public String toString() {
            return name + ": " + (available ? "yes" : "NO") + " (" + detail + ")";
        }
    }

    private KernelCapabilities() {}

    /** Whether a new user namespace can be created by this user; see {@link UserNamespace#probe()}. */
    public static Feature userNamespaces() {
        return UserNamespace.probe();
    }

    /** Whether seccomp filters with {@code SECCOMP_FILTER_FLAG_TSYNC} can be installed. */
    public static Feature seccompTsync() {
        String name = "seccomp filter + TSYNC";
        boolean field;
        try {
            field = Files.readAllLines(Path.of("/proc/self/status")).stream().anyMatch(l -> l.startsWith("Seccomp:"));
        } catch (IOException e) {
            return new Feature(name, false, "cannot read /proc/self/status: " + e.getMessage());
        }
        if (!field) {
            return new Feature(name, false, "no Seccomp: line in /proc/self/status: kernel built without CONFIG_SECCOMP");
        }
        int errno = Seccomp.probeTsync();
        if (errno != 0) {
            return new Feature(name, false, "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC) probe: "
                    + Errno.name(errno) + (errno == Errno.EINVAL ? " (kernel older than 3.17 or CONFIG_SECCOMP_FILTER off)"
                    : " (a seccomp profile around this process forbids seccomp())"));
        }
        return new Feature(name, true, "SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_TSYNC accepted");
    }

    /** Whether {@code bwrap} is on PATH and runs. */
    public static Feature bwrap() {
        String name = "bwrap";
        Optional<Path> bwrap = onPath("bwrap");
        if (bwrap.isEmpty()) {
            return new Feature(name, false, "bwrap not found on PATH=" + System.getenv("PATH") + "; fix: apt-get install bubblewrap");
        }
        RunResult r = run(List.of(bwrap.get().toString(), "--version"));
        if (r.exit != 0) {
            return new Feature(name, false, bwrap.get() + " --version failed (exit " + r.exit + "): " + r.output.strip());
        }
        return new Feature(name, true, bwrap.get() + " (" + r.output.strip() + ")");
    }

    /** The cgroup layout: v2 (unified), hybrid (v1 controllers + unified), v1, or none. */
    public static Feature cgroupVersion() {
        String name = "cgroup";
        Path root = Path.of("/sys/fs/cgroup");
        if (Files.exists(root.resolve("cgroup.controllers"))) {
            return new Feature(name, true, "v2");
        }
        if (Files.exists(root.resolve("unified/cgroup.controllers"))) {
            return new Feature(name, true, "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)");
        }
        if (Files.isDirectory(root) && Files.exists(root.resolve("memory"))) {
            return new Feature(name, true, "v1");
        }
        return new Feature(name, false, "no cgroup filesystem mounted at /sys/fs/cgroup");
    }

    /** Every probe, in a fixed order. */
    public static List<Feature> all() {
        return List.of(userNamespaces(), seccompTsync(), bwrap(), cgroupVersion());
    }

    /** The first executable named {@code program} on PATH. */
    public static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            path = "/usr/local/bin:/usr/bin:/bin";
        }
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .anyMatch(l -> l.split("\\s+")[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    static Optional<String> readSysctl(String file) {
        try {
            return Optional.of(Files.readString(Path.of(file)).strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    record RunResult(int exit, String output) {}

    static RunResult run(List<String> command) {
        Process p = null;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                return new RunResult(-1, String.join(" ", command) + " did not finish within 10 s");
            }
            return new RunResult(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new RunResult(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new RunResult(-1, "interrupted");
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }
}
