package dev.shmesh.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An fd-leak guard around every system test: the gateway and every worker process of a mesh hold, when a test ends,
 * no descriptor they did not hold when the mesh became ready.
 *
 * <p>Registered for every test class of this module through automatic extension registration
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension}, enabled in {@code junit-platform.properties}),
 * so a new test class cannot forget it. {@link Mesh#awaitReady} records the baseline of each of its processes (the
 * gateway's pid from /status, then each worker's) the first time the mesh is ready; the check runs after each test
 * for every mesh still open (a mesh a class shares between its tests) and in {@link Mesh#close()} before the mesh is
 * stopped (a mesh a test opens and closes itself). The check reads {@code /proc/PID/fd}; a process that is gone, or
 * whose pid now names another process (a restarted worker, a killed gateway), has nothing left to leak and is not
 * compared — the gateway that replaced a worker still is. (The baseline waits for the descriptors to stop changing
 * once: see {@link #recordBaseline}.)
 *
 * <p>Compared: the number of descriptors of each kind (socket, pipe, eventfd, each file path...). Not counted as
 * leaks, each for a reason:
 * <ul>
 *   <li>a connection the test itself still holds open (its client end is a socket of this JVM): live, not leaked;
 *       tests close their clients before they end;
 *   <li>the first descriptor of a class-path jar (under the project or the JDK), and of /dev/random or /dev/urandom:
 *       the JVM opens those on first use, lazily, and keeps them for its lifetime — a request the process had not
 *       served before the baseline opens them. A second descriptor of the same file is a leak again;
 *   <li>one eventfd in a process whose grpc-shm PeerWatcher thread started since the baseline: it opens one, once,
 *       for the process's life (an edge worker's first digest starts it). A second one is a leak again.
 * </ul>
 * There is no other slack, for the gateway or for workers. A connection the test closed takes its peer a moment
 * to close: the check waits up to {@link #SETTLE} for the descriptors to return to the baseline — it ends as soon as
 * they have, and only a leak reaches the deadline — then fails with each leaked descriptor (its number, its readlink
 * target and, for a TCP socket, its state and peer).
 */
public final class FdLeakGuard implements AfterEachCallback {
    static final Duration SETTLE = Duration.ofSeconds(10);
    static final Duration QUIET = Duration.ofSeconds(1);

    /** Baselines of the meshes that became ready and are not closed yet. */
    private static final Map<Mesh, Map<String, Baseline>> BASELINES = new LinkedHashMap<>();

    record Baseline(String who, long pid, Instant start, Map<Integer, String> fds, boolean peerWatcher) {}

    /**
     * grpc-shm's PeerWatcher: one thread per process, started on the first connection it watches (an edge's first
     * call to a compute worker), holding one eventfd for the rest of the process's life. Its thread's name (as
     * /proc shows it, cut to 15 bytes) tells whether it has started.
     */
    private static final String PEER_WATCHER_THREAD = "shm-grpc-peer-w";
    private static final String EVENTFD = "anon_inode:[eventfd]";

    @Override
    public void afterEach(ExtensionContext context) {
        List<Mesh> open;
        synchronized (BASELINES) {
            open = List.copyOf(BASELINES.keySet());
        }
        List<String> leaks = new ArrayList<>();
        for (Mesh mesh : open) {
            leaks.addAll(leaks(mesh));
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError(message(context.getDisplayName(), leaks));
        }
    }

    /**
     * Records {@code mesh}'s processes and their descriptors, once: the mesh has just become ready. The gateway reports
     * a compute worker ready before the connection ends it hands to it and to the edges have been taken (no status
     * field says when they are), so the baseline is the first snapshot of all the mesh's processes that a second one,
     * {@link #QUIET} later, finds unchanged.
     */
    static void recordBaseline(Mesh mesh, JsonNode status) {
        synchronized (BASELINES) {
            if (BASELINES.containsKey(mesh)) {
                return;
            }
        }
        Map<String, Long> processes = processes(status);
        if (!processes.containsKey("gateway")) { // the guard would check nothing of the one process always here
            throw new AssertionError("the fd-leak guard finds no gateway JVM at the gateway's pid in " + status);
        }
        Map<String, Baseline> baselines = snapshot(processes);
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (System.nanoTime() - deadline < 0) {
            Mesh.sleep(QUIET.toMillis());
            Map<String, Baseline> again = snapshot(processes);
            if (kinds(again).equals(kinds(baselines))) {
                break;
            }
            baselines = again;
        }
        synchronized (BASELINES) {
            BASELINES.put(mesh, baselines);
        }
    }

    /** The descriptors of {@code processes} (name -> pid) now, without this test's own connections. */
    static Map<String, Baseline> snapshot(Map<String, Long> processes) {
        Map<String, Baseline> baselines = new LinkedHashMap<>();
        for (Map.Entry<String, Long> p : processes.entrySet()) {
            Optional<ProcessHandle> handle = ProcessHandle.of(p.getValue());
            Optional<Instant> start = handle.flatMap(h -> h.info().startInstant());
            if (handle.isEmpty() || start.isEmpty()) {
                continue; // already gone: a later check has nothing to compare it with
            }
            Map<Integer, String> fds = fds(p.getValue());
            Sockets sockets = Sockets.read(p.getValue());
            fds.values().removeIf(sockets::heldByThisTest); // the test's own connections (the admin client's)
            baselines.put(p.getKey(), new Baseline(p.getKey(), p.getValue(), start.get(), fds,
                    hasThread(p.getValue(), PEER_WATCHER_THREAD)));
        }
        return baselines;
    }

    private static Map<String, Map<String, Integer>> kinds(Map<String, Baseline> baselines) {
        Map<String, Map<String, Integer>> kinds = new TreeMap<>();
        baselines.forEach((who, b) -> {
            Map<String, Integer> counts = new TreeMap<>();
            byKind(b.fds(), null).forEach((kind, fds) -> counts.put(kind, fds.size()));
            kinds.put(who, counts);
        });
        return kinds;
    }

    /**
     * Checks {@code mesh} before it is stopped and forgets it: null when nothing leaked, else the error to throw
     * once the mesh is stopped.
     */
    static AssertionError checkBeforeClose(Mesh mesh) {
        synchronized (BASELINES) {
            if (!BASELINES.containsKey(mesh)) {
                return null;
            }
        }
        try {
            List<String> leaks = leaks(mesh);
            return leaks.isEmpty() ? null : new AssertionError(message("mesh " + mesh.name + " before close", leaks));
        } catch (RuntimeException | AssertionError e) {
            return new AssertionError("the fd-leak guard could not check mesh " + mesh.name + ": " + e, e);
        } finally {
            synchronized (BASELINES) {
                BASELINES.remove(mesh);
            }
        }
    }

    private static String message(String when, List<String> leaks) {
        return "file descriptors leaked (" + when + "; baseline: the mesh just ready):\n  " + String.join("\n  ", leaks);
    }

    /** The leaks of {@code mesh}'s processes against their baselines, after waiting up to SETTLE for them to go. */
    private static List<String> leaks(Mesh mesh) {
        Map<String, Baseline> baselines;
        synchronized (BASELINES) {
            baselines = BASELINES.get(mesh);
        }
        return baselines == null ? List.of() : leaks(baselines, SETTLE);
    }

    /**
     * The descriptors of live processes of {@code baselines} that are not explained by their baselines, once they
     * match or {@code settle} has passed; empty when none.
     */
    static List<String> leaks(Map<String, Baseline> baselines, Duration settle) {
        long deadline = System.nanoTime() + settle.toNanos();
        while (true) {
            List<String> leaks = new ArrayList<>();
            for (Baseline b : baselines.values()) {
                leaks.addAll(leaks(b));
            }
            if (leaks.isEmpty() || System.nanoTime() - deadline > 0) {
                return leaks;
            }
            Mesh.sleep(50); // the poll interval of a wait that ends on the condition, not a precondition
        }
    }

    private static List<String> leaks(Baseline b) {
        Optional<ProcessHandle> now = ProcessHandle.of(b.pid());
        if (now.isEmpty() || !now.get().isAlive() || !now.get().info().startInstant().equals(Optional.of(b.start()))) {
            return List.of(); // exited (or its pid is another process's now): the kernel closed what it held
        }
        Map<Integer, String> fds;
        try {
            fds = fds(b.pid());
        } catch (AssertionError gone) {
            if (!now.get().isAlive()) {
                return List.of();
            }
            throw gone;
        }
        Sockets sockets = Sockets.read(b.pid());
        boolean peerWatcherStarted = !b.peerWatcher() && hasThread(b.pid(), PEER_WATCHER_THREAD);
        Map<String, List<Integer>> before = byKind(b.fds(), null); // held connections are out already
        Map<String, List<Integer>> after = byKind(fds, sockets);
        List<String> leaks = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> kind : after.entrySet()) {
            int had = before.getOrDefault(kind.getKey(), List.of()).size();
            int has = kind.getValue().size();
            boolean explained = (had == 0 && has == 1 && openedOnceForLife(kind.getKey()))
                    || (has == had + 1 && kind.getKey().equals(EVENTFD) && peerWatcherStarted);
            if (has > had && !explained) {
                List<String> fresh = new ArrayList<>();
                for (int fd : kind.getValue()) {
                    if (!fds.get(fd).equals(b.fds().get(fd))) {
                        fresh.add(fd + " -> " + fds.get(fd) + sockets.describe(fds.get(fd)));
                    }
                }
                leaks.add(b.who() + " (pid " + b.pid() + "): " + has + " x " + kind.getKey() + ", " + had
                        + " at the baseline; not there then: " + fresh);
            }
        }
        return leaks;
    }

    /** Files the JVM opens lazily and keeps open for its lifetime: a first descriptor is no leak. */
    private static boolean openedOnceForLife(String kind) {
        if (kind.equals("/dev/random") || kind.equals("/dev/urandom")) {
            return true;
        }
        return kind.endsWith(".jar")
                && (kind.startsWith(Mesh.ROOT + "/") || kind.startsWith(System.getProperty("java.home") + "/"));
    }

    /**
     * Descriptors grouped by kind: "socket", "pipe", "anon_inode:[eventfd]", a file's path. With {@code sockets},
     * the server ends of connections this test still holds open are left out.
     */
    private static Map<String, List<Integer>> byKind(Map<Integer, String> fds, Sockets sockets) {
        Map<String, List<Integer>> kinds = new TreeMap<>();
        for (Map.Entry<Integer, String> fd : fds.entrySet()) {
            String target = fd.getValue();
            if (sockets != null && sockets.heldByThisTest(target)) {
                continue;
            }
            String kind = target.startsWith("socket:") ? "socket" : target.startsWith("pipe:") ? "pipe" : target;
            kinds.computeIfAbsent(kind, k -> new ArrayList<>()).add(fd.getKey());
        }
        return kinds;
    }

    /** Whether a thread of {@code pid} is named {@code comm} (/proc/PID/task/TID/comm). */
    private static boolean hasThread(long pid, String comm) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    if (Files.readString(task.resolve("comm")).strip().equals(comm)) {
                        return true;
                    }
                } catch (IOException threadGone) {
                    // ended between the listing and the read
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** fd number -> readlink target of every descriptor of {@code pid}. */
    private static Map<Integer, String> fds(long pid) {
        Path dir = Path.of("/proc", Long.toString(pid), "fd");
        Map<Integer, String> fds = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path fd : list.toList()) {
                try {
                    fds.put(Integer.parseInt(fd.getFileName().toString()), Files.readSymbolicLink(fd).toString());
                } catch (NoSuchFileException closedMeanwhile) {
                    // closed between the listing and the readlink
                }
            }
        } catch (IOException e) {
            throw new AssertionError("the fd-leak guard cannot read " + dir + " (" + e + "): run the system tests as"
                    + " root or as the user the mesh runs as", e);
        }
        return fds;
    }

    /**
     * The gateway and each worker process of a /status document, by name: those whose pid names a gateway or worker
     * JVM here (a worker in a container reports its pid in its own pid namespace, which may name anything here).
     */
    private static Map<String, Long> processes(JsonNode status) {
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("gateway", status.get("gateway").get("pid").asLong());
        for (JsonNode w : status.get("workers")) {
            if (w.hasNonNull("pid")) {
                pids.put(w.get("id").asText(), w.get("pid").asLong());
            }
        }
        pids.values().removeIf(pid -> !runsQuarkusApp(pid));
        return pids;
    }

    /** Whether {@code pid} runs a Quarkus fast-jar (the gateway, a worker); its command line says. */
    private static boolean runsQuarkusApp(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8).contains("quarkus-run.jar");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The TCP sockets a process can see (its network namespace's tables, and this test's, where the mesh port's
     * connections live), and the connections this JVM holds.
     */
    private record Sockets(
            Map<String, String[]> tcpByInode, Set<String> ourConnections, Map<String, String> unixByInode) {
        private static final String LISTEN = "0A";

        static Sockets read(long pid) {
            Map<String, String[]> tcp = new HashMap<>();
            Map<String, String> unix = new HashMap<>();
            for (String root : List.of("/proc/self/net/", "/proc/" + pid + "/net/")) {
                for (String table : List.of("tcp", "tcp6")) {
                    for (String line : lines(root + table)) {
                        String[] f = line.trim().split("\\s+");
                        if (f.length > 9 && !f[0].equals("sl")) {
                            tcp.put(f[9], new String[] {endpoint(f[1]), endpoint(f[2]), f[3]});
                        }
                    }
                }
                for (String line : lines(root + "unix")) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 6 && !f[0].equals("Num:")) {
                        unix.put(f[6], f.length > 7 ? f[7] : "");
                    }
                }
            }
            Set<String> ours = new HashSet<>(); // "local remote" of each connected TCP socket of this JVM
            for (String target : fds(ProcessHandle.current().pid()).values()) {
                String[] entry = tcp.get(inode(target));
                if (entry != null && !entry[2].equals(LISTEN)) {
                    ours.add(entry[0] + " " + entry[1]);
                }
            }
            return new Sockets(tcp, ours, unix);
        }

        /** Whether {@code target} is the other end of a TCP connection whose end this JVM holds open. */
        boolean heldByThisTest(String target) {
            String[] entry = tcpByInode.get(inode(target));
            return entry != null && ourConnections.contains(entry[1] + " " + entry[0]);
        }

        String describe(String target) {
            String inode = inode(target);
            String[] entry = tcpByInode.get(inode);
            if (entry != null) {
                return " (tcp " + entry[0] + " -> " + entry[1] + ", " + TCP_STATES.getOrDefault(entry[2], entry[2]) + ")";
            }
            String path = unixByInode.get(inode);
            return path == null ? "" : " (unix" + (path.isEmpty() ? "" : " " + path) + ")";
        }

        private static final Map<String, String> TCP_STATES = Map.of("01", "ESTABLISHED", "06", "TIME_WAIT",
                "08", "CLOSE_WAIT", "0A", "LISTEN", "04", "FIN_WAIT1", "05", "FIN_WAIT2", "09", "LAST_ACK");

        private static String inode(String target) {
            return target.startsWith("socket:[") ? target.substring(8, target.length() - 1) : "";
        }

        /** /proc/net/tcp's hex endpoint, an IPv4-mapped IPv6 address written as the IPv4 one. */
        private static String endpoint(String hex) {
            int colon = hex.indexOf(':');
            String address = hex.substring(0, colon);
            if (address.length() == 32 && address.startsWith("0000000000000000FFFF0000")) {
                address = address.substring(24);
            }
            return address + ":" + hex.substring(colon + 1);
        }

        private static List<String> lines(String file) {
            try {
                return Files.readAllLines(Path.of(file));
            } catch (IOException e) {
                return List.of(); // no such table (no IPv6) or the process is gone
            }
        }
    }
}
