package dev.shmesh.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real mesh for a test: the packaged gateway started as a child process on free loopback ports
 * with its own run directory; it spawns the real workers. {@link #close()} stops it with SIGTERM
 * and then kills, by pid, anything of its process tree still alive.
 */
final class Mesh implements AutoCloseable {
    static final Path ROOT = Path.of(System.getProperty("shmesh.root", "..")).toAbsolutePath().normalize();
    static final Path GATEWAY_JAR = ROOT.resolve("gateway/target/quarkus-app/quarkus-run.jar");
    static final Path WORKER_JAR = ROOT.resolve("worker/target/quarkus-app/quarkus-run.jar");
    static final Path JVM_OPTIONS = ROOT.resolve("jvm.options");
    static final ObjectMapper JSON = new ObjectMapper();

    final int port;
    final int adminPort;
    final Path runDir;
    /** The mesh name: unique per test mesh unless the flags name one, so that no two meshes share /dev/shm names. */
    final String name;
    final Path log;
    final Process gateway;
    /** Whether close() removes the run dir; not when the run dir is another mesh's ({@link #startBeside}). */
    private boolean ownsRunDir = true;
    /** Whether {@link #name} was generated here (the flags named no mesh). */
    private boolean generatedName;
    private final List<ProcessHandle> tree = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private Mesh(int port, int adminPort, Path runDir, String name, Path log, Process gateway) {
        this.port = port;
        this.adminPort = adminPort;
        this.runDir = runDir;
        this.name = name;
        this.log = log;
        this.gateway = gateway;
    }

    /**
     * Starts a gateway with {@code workers} workers and extra arguments: gateway flags (e.g.
     * "--isolation", "netns") or {@code -Dkey=value} configuration, which goes to the gateway JVM.
     */
    static Mesh start(int workers, String... flags) throws IOException {
        return start(List.of(), freePort(), Files.createTempDirectory("shmesh-test-run"), workers, flags);
    }

    /**
     * Starts a gateway through a {@code prefix} command (e.g. setpriv, systemd-socket-activate) on
     * {@code port} with {@code runDir}; see {@link #start(int, String...)} for {@code flags}.
     */
    static Mesh start(List<String> prefix, int port, Path runDir, int workers, String... flags) throws IOException {
        if (!Files.isRegularFile(GATEWAY_JAR) || !Files.isRegularFile(WORKER_JAR)) {
            throw new IllegalStateException("gateway/worker not packaged under " + ROOT + "; run ./shmesh test");
        }
        int adminPort = freePort();
        Path log = Files.createTempFile("shmesh-gateway", ".log");
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + JVM_OPTIONS));
        List<String> gatewayFlags = new ArrayList<>();
        for (String flag : flags) {
            (flag.startsWith("-D") ? command : gatewayFlags).add(flag);
        }
        int named = gatewayFlags.indexOf("--mesh");
        String name;
        if (named >= 0) {
            name = gatewayFlags.get(named + 1);
        } else {
            // meshes of other test runs on this host (another checkout) must not share segment names with this one
            name = "t" + Long.toHexString(System.nanoTime() ^ ProcessHandle.current().pid() << 40);
            gatewayFlags.addAll(List.of("--mesh", name));
        }
        command.addAll(List.of(
                "-Dshmesh.worker.jvm-options=" + JVM_OPTIONS,
                "-Dshmesh.worker.jar=" + WORKER_JAR,
                "-jar", GATEWAY_JAR.toString(),
                "--port", Integer.toString(port),
                "--admin-port", Integer.toString(adminPort),
                "--run-dir", runDir.toString(),
                "--workers", Integer.toString(workers)));
        command.addAll(gatewayFlags);
        Process gateway = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Mesh mesh = new Mesh(port, adminPort, runDir, name, log, gateway);
        mesh.generatedName = named < 0;
        mesh.tree.add(gateway.toHandle());
        return mesh;
    }

    /**
     * Starts a second gateway of {@code other}'s mesh in {@code other}'s run dir, on its own ports; its
     * {@link #close()} leaves that run dir alone.
     */
    static Mesh startBeside(Mesh other, int workers, String... flags) throws IOException {
        List<String> all = new ArrayList<>(List.of(flags));
        all.addAll(List.of("--mesh", other.name));
        Mesh mesh = start(List.of(), freePort(), other.runDir, workers, all.toArray(String[]::new));
        mesh.ownsRunDir = false;
        return mesh;
    }

    /**
     * Waits until /status shows {@code n} edge workers, and every other process (broker, computes), ready; the first
     * time, {@link FdLeakGuard} records the descriptors of the gateway and each worker as the baseline.
     */
    Mesh awaitReady(int n) {
        JsonNode ready;
        try {
            ready = awaitStatus(n + " ready edge workers, the rest ready too",
                    s -> edges(s).size() == n && countState(s, "ready") == s.get("workers").size(),
                    Duration.ofSeconds(60));
        } catch (AssertionError | RuntimeException e) {
            // called as `try (Mesh m = Mesh.start(...).awaitReady(n))`: nobody else would stop this mesh
            close();
            throw e;
        }
        FdLeakGuard.recordBaseline(this, ready);
        return this;
    }

    /** The edge workers (those serving the mesh port) of a status document. */
    static List<JsonNode> edges(JsonNode status) {
        List<JsonNode> edges = new ArrayList<>();
        for (JsonNode w : status.get("workers")) {
            if (w.get("role").asText().equals("edge")) {
                edges.add(w);
            }
        }
        return edges;
    }

    /** Polls /status until {@code condition} holds, or fails with the last status and the gateway log. */
    JsonNode awaitStatus(String what, Predicate<JsonNode> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            if (!gateway.isAlive()) {
                throw new AssertionError("gateway exited with " + gateway.exitValue() + " while waiting for " + what
                        + "\n" + logTail());
            }
            try {
                last = status();
                rememberWorkers(last);
                if (holds(condition, last)) {
                    return last;
                }
            } catch (IOException e) {
                // admin endpoint not up yet
            }
            sleep(100);
        }
        throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; last status: " + last
                + "\n" + logTail());
    }

    private static boolean holds(Predicate<JsonNode> condition, JsonNode status) {
        try {
            return condition.test(status);
        } catch (AssertionError | RuntimeException notYet) {
            return false; // e.g. the worker is not listed yet
        }
    }

    JsonNode status() throws IOException {
        HttpResponse<String> r = get(adminPort, "/status");
        if (r.statusCode() != 200) {
            throw new IOException("/status answered " + r.statusCode());
        }
        return JSON.readTree(r.body());
    }

    HttpResponse<String> get(int port, String path) throws IOException {
        return get(port, path, Duration.ofSeconds(10));
    }

    HttpResponse<String> get(int port, String path, Duration timeout) throws IOException {
        try {
            return http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .timeout(timeout)
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    JsonNode worker(JsonNode status, String id) {
        for (JsonNode w : status.get("workers")) {
            if (w.get("id").asText().equals(id)) {
                return w;
            }
        }
        throw new AssertionError("no worker " + id + " in " + status);
    }

    static long countState(JsonNode status, String state) {
        long n = 0;
        for (JsonNode w : status.get("workers")) {
            if (w.get("state").asText().equals(state)) {
                n++;
            }
        }
        return n;
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return "--- gateway log (" + log + ") ---\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
        } catch (IOException e) {
            return "(no gateway log: " + e.getMessage() + ")";
        }
    }

    /** Records worker pids so that close() can reap them even after the gateway is gone. */
    private void rememberWorkers(JsonNode status) {
        for (JsonNode w : status.get("workers")) {
            if (w.hasNonNull("pid")) {
                ProcessHandle.of(w.get("pid").asLong()).ifPresent(h -> {
                    synchronized (tree) {
                        if (!tree.contains(h)) {
                            tree.add(h);
                        }
                    }
                });
            }
        }
    }

    List<ProcessHandle> knownProcesses() {
        synchronized (tree) {
            gateway.toHandle().descendants().forEach(h -> {
                if (!tree.contains(h)) {
                    tree.add(h);
                }
            });
            return List.copyOf(tree);
        }
    }

    /**
     * Stops the mesh; first, {@link FdLeakGuard} checks that its processes hold no descriptor more than when it became
     * ready, and the leak it finds, if any, is thrown once the mesh is stopped.
     */
    @Override
    public void close() {
        AssertionError leak = FdLeakGuard.checkBeforeClose(this);
        List<ProcessHandle> all = knownProcesses();
        gateway.destroy();
        try {
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle h : all) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        if (ownsRunDir) {
            // what a killed gateway leaves: control.sock, its lock file
            try (var files = Files.list(runDir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(runDir);
            } catch (IOException ignored) {
                // already gone
            }
        }
        if (generatedName) {
            // a killed gateway leaves its segments for its mesh's next broker; a generated name has no next one (a
            // test that names its mesh checks what is left itself)
            try (var shm = Files.list(Path.of("/dev/shm"))) {
                for (Path f : shm.filter(p -> p.getFileName().toString().startsWith("shmesh-" + name + "-")).toList()) {
                    Files.deleteIfExists(f);
                }
            } catch (IOException ignored) {
                // nothing left
            }
        }
        try {
            Files.deleteIfExists(log);
        } catch (IOException ignored) {
            // a temp file
        }
        if (leak != null) {
            throw leak;
        }
    }

    /** The gateway process's real uid and gid, from the host's /proc. */
    int[] gatewayIds() throws IOException {
        int uid = -1;
        int gid = -1;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(gateway.pid()), "status"))) {
            if (line.startsWith("Uid:")) {
                uid = Integer.parseInt(line.split("\\s+")[1]);
            } else if (line.startsWith("Gid:")) {
                gid = Integer.parseInt(line.split("\\s+")[1]);
            }
        }
        return new int[] {uid, gid};
    }

    /**
     * Runs {@code main} (a JDK-only class of the test classes) in a new JVM as the gateway's uid and gid (through
     * setpriv when that is not this test's uid), waits up to 30 s and returns its standard output.
     */
    static String runAsGatewayUser(Mesh mesh, Class<?> main, String... args) throws Exception {
        int[] ids = mesh.gatewayIds();
        List<String> command = new ArrayList<>();
        String self = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow().split("\\s+")[1];
        if (!self.equals(Integer.toString(ids[0]))) {
            command.addAll(List.of("setpriv", "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", Path.of(main.getProtectionDomain().getCodeSource().getLocation().toURI()).toString(),
                main.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError(command + " did not finish in 30 s");
            }
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError(command + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } finally {
            p.destroyForcibly();
        }
    }

    /** Polls {@code condition} until it holds, or fails naming {@code what} after {@code timeout}. */
    static void await(String what, java.util.function.BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            sleep(20); // the poll interval
        }
    }

    /** Whether a TCP socket of this network namespace listens on 127.0.0.1:{@code port} (/proc/net/tcp). */
    static boolean listening(int port) {
        String local = String.format("0100007F:%04X", port); // 127.0.0.1, as the kernel prints it on little-endian
        try {
            return Files.readAllLines(Path.of("/proc/net/tcp")).stream()
                    .map(l -> l.trim().split("\\s+"))
                    .anyMatch(f -> f.length > 3 && f[1].equals(local) && f[3].equals("0A"));
        } catch (IOException e) {
            throw new AssertionError("cannot read /proc/net/tcp", e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
