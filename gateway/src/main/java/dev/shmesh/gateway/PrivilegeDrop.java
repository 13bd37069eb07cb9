package dev.shmesh.gateway;

import dev.shmesh.linux.CapabilitySet;
import dev.shmesh.linux.Credentials;
import dev.shmesh.linux.Exec;
import dev.shmesh.linux.LinuxException;
import dev.shmesh.linux.Prctl;
import dev.shmesh.linux.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A gateway started as root gives root up once its listeners are bound: it becomes an unprivileged user
 * ({@code shmesh.gateway.user}, default {@code shmesh} when that user exists, else {@code nobody}) with no
 * capability in any set, an empty bounding set and no_new_privs — on every thread.
 *
 * <p>Why a re-exec: credentials are per thread. glibc's {@code setresuid}/{@code setresgid}/{@code setgroups}
 * reach every thread ({@link Credentials}), and a uid change away from 0 clears each thread's permitted, effective
 * and ambient sets; but the bounding set can only be lowered by each thread for itself, and the JVM's own threads
 * (GC, JIT compiler, signal dispatcher) cannot be made to do that. So the privileged steps run first, then the
 * calling thread drops its bounding set, glibc moves every thread to the new user, and the calling thread
 * {@code execve}s the same JVM command line: the new program starts with that thread's credentials only, keeps the
 * pid (supervisors, systemd and the tests see one process), and every thread it ever starts inherits them.
 *
 * <p>The order, in the root incarnation:
 * <ol>
 *   <li>resolve the user and check that it can reach the JDK, the jars, jvm.options, the working directory and the
 *       run dir (refuse with what to chmod otherwise);
 *   <li>prepare the run dir and give it (and the control socket and lock left by an earlier root run) to the user;
 *   <li>bind the listeners (the only step that may need root: ports below 1024);
 *   <li>mark every descriptor close-on-exec except the listeners, which go to the new program in
 *       {@code SHMESH_LISTEN_FDS} (with {@code SHMESH_LISTEN_PID}: only this pid takes them);
 *   <li>on the calling thread: drop the bounding set; then setgroups, setresgid, setresuid (every thread); clear
 *       the inheritable set; set no_new_privs; execve.
 * </ol>
 * In the unprivileged incarnation {@link #afterDrop} makes the process non-dumpable: other processes of the same
 * user can then neither ptrace it nor read its memory or environment.
 */
final class PrivilegeDrop {
    private static final Logger LOG = Logger.getLogger(PrivilegeDrop.class);
    /** Set for the new program: the user the gateway dropped to, as {@code name:uid:gid}. */
    static final String DROPPED_ENV = "SHMESH_DROPPED_TO";
    private static final int NOBODY = 65534;

    /** The user to become. */
    record User(String name, int uid, int gid) {
        @Override
        public String toString() {
            return name + " (uid " + uid + ", gid " + gid + ")";
        }
    }

    private PrivilegeDrop() {}

    /** Whether this process runs as root and must drop it before it serves. */
    static boolean runningAsRoot() {
        return PrivateFiles.effectiveUid() == 0;
    }

    /**
     * The configured user: a name from /etc/passwd, a uid, or {@code uid:gid}; unset: {@code shmesh} when it exists,
     * else {@code nobody}, else 65534:65534. Root (uid 0) is refused.
     */
    static User resolve(Optional<String> configured) {
        User user;
        if (configured.isEmpty() || configured.get().isBlank()) {
            user = lookup("shmesh").or(() -> lookup("nobody")).orElse(new User("nobody", NOBODY, NOBODY));
        } else {
            String v = configured.get().trim();
            if (v.matches("\\d+(:\\d+)?")) {
                String[] parts = v.split(":");
                int uid = Integer.parseInt(parts[0]);
                user = new User(v, uid, parts.length > 1 ? Integer.parseInt(parts[1]) : uid);
            } else {
                user = lookup(v).orElseThrow(() -> new IllegalStateException("shmesh.gateway.user=" + v
                        + " is not a user in /etc/passwd: create it (useradd --system --no-create-home " + v
                        + ") or give a uid:gid"));
            }
        }
        if (user.uid() == 0 || user.gid() == 0) {
            throw new IllegalStateException("shmesh.gateway.user=" + user + ": the gateway does not keep root; choose an"
                    + " unprivileged user (--user)");
        }
        return user;
    }

    private static Optional<User> lookup(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = line.split(":");
                if (f.length >= 4 && f[0].equals(name)) {
                    return Optional.of(new User(name, Integer.parseInt(f[2]), Integer.parseInt(f[3])));
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.debugf("cannot read /etc/passwd: %s", e.getMessage());
        }
        return Optional.empty();
    }

    /**
     * Checks that {@code user} can traverse to every path and read it (and list it when a directory); throws a
     * user-facing message naming the first obstacle. Mode bits only (owner, the user's primary group, others).
     */
    static void checkReachable(User user, List<Path> readable, List<Path> traversable) {
        for (Path p : readable) {
            Path abs = p.toAbsolutePath().normalize();
            for (Path dir = abs.getParent(); dir != null; dir = dir.getParent()) {
                require(user, dir, 1, "traverse");
            }
            require(user, abs, Files.isDirectory(abs) ? 5 : 4, "read");
        }
        for (Path p : traversable) {
            for (Path dir = p.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
                require(user, dir, 1, "traverse");
            }
        }
    }

    private static void require(User user, Path path, int bits, String what) {
        try {
            Map<String, Object> a = Files.readAttributes(path, "unix:mode,uid,gid");
            int mode = (Integer) a.get("mode");
            int shift = (Integer) a.get("uid") == user.uid() ? 6 : (Integer) a.get("gid") == user.gid() ? 3 : 0;
            if (((mode >> shift) & bits) != bits) {
                throw new IllegalStateException("the gateway drops root to " + user + ", who cannot " + what + " " + path
                        + " (mode " + Integer.toOctalString(mode & 0777) + "): chmod o+" + (bits == 1 ? "x" : bits == 4 ? "r"
                        : "rx") + " it, move the files (or --run-dir) somewhere " + user.name() + " can reach, or choose"
                        + " another --user");
            }
        } catch (NoSuchFileException e) {
            // not there yet (a run dir to be created): its parents were checked
        } catch (IOException e) {
            throw new IllegalStateException("cannot check " + path + ": " + e.getMessage(), e);
        }
    }

    /** Gives {@code runDir} and what an earlier run of this mesh left in it to {@code user} (lchown, no symlink followed). */
    static void handOver(User user, Path runDir, String mesh) {
        try {
            for (Path p : List.of(runDir, runDir.resolve("control.sock"), runDir.resolve("shmesh-" + mesh + ".lock"))) {
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setAttribute(p, "unix:gid", user.gid(), LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot give the run dir " + runDir + " to " + user + ": " + e.getMessage(), e);
        }
    }

    /**
     * Steps 4 and 5: never returns. On failure the process may be half-way (some ids changed): the caller must
     * exit, never serve.
     */
    static void dropAndReexec(User user, Listeners listeners) throws LinuxException, IOException {
        List<String> argv = commandLine();
        String exe = Files.readSymbolicLink(Path.of("/proc/self/exe")).toString();
        Map<String, String> env = new LinkedHashMap<>(System.getenv());
        env.remove("LISTEN_PID"); // socket activation was for the root incarnation; it passes the sockets on itself
        env.remove("LISTEN_FDS");
        env.remove("LISTEN_FDNAMES");
        env.put(Listeners.INHERITED_ENV, listeners.describeForInheritance());
        env.put(Listeners.INHERITED_PID_ENV, Long.toString(ProcessHandle.current().pid()));
        env.put(DROPPED_ENV, user.name() + ":" + user.uid() + ":" + user.gid());
        LOG.infof("listeners bound; dropping root: becoming %s with no capabilities, then re-executing", user);
        System.out.flush();
        System.err.flush();
        Exec.onlyInheritOnExec(listeners.all().stream().mapToInt(Listeners.Listener::fd).toArray());
        Credentials.dropBoundingSetOfCallingThread();
        Credentials.setGroups(user.gid());
        Credentials.setAllGids(user.gid());
        Credentials.setAllUids(user.uid());
        CapabilitySet.clearCalling(); // the inheritable set survives a uid change; the new program must not get it
        Prctl.setNoNewPrivs();
        Exec.execve(exe, argv, env);
    }

    /** The unprivileged incarnation: not dumpable, and a check that the drop really happened on every thread. */
    static Optional<String> afterDrop() {
        String dropped = System.getenv(DROPPED_ENV);
        if (dropped == null) {
            return Optional.empty();
        }
        if (runningAsRoot()) {
            throw new IllegalStateException(DROPPED_ENV + "=" + dropped + " but the gateway still runs as root; refusing");
        }
        try {
            Prctl.setDumpable(false);
        } catch (LinuxException e) {
            throw new IllegalStateException("cannot make the gateway non-dumpable: " + e.getMessage(), e);
        }
        return Optional.of(dropped.substring(0, dropped.indexOf(':')));
    }

    private static List<String> commandLine() throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
        List<String> argv = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                argv.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (argv.isEmpty()) {
            throw new IOException("/proc/self/cmdline is empty");
        }
        return argv;
    }
}

