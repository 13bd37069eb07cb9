package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Workers in an empty network namespace still serve; stopping or killing the gateway leaves nothing behind. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IsolationAndLifecycleTest {

    @Test
    void aWorkerInAnEmptyNetworkNamespaceServesOnTheHandedSocket() throws Exception {
        String why = unshareNetUnavailable();
        assumeTrue(why == null, () -> "needs network namespaces (unshare --net): " + why);
        try (Mesh mesh = Mesh.start(1, "--isolation", "netns").awaitReady(1)) {
            long pid = mesh.worker(mesh.status(), "worker-1").get("pid").asLong();
            String workerNet = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net")).toString();
            String gatewayNet = Files.readSymbolicLink(
                    Path.of("/proc", Long.toString(mesh.gateway.pid()), "ns", "net")).toString();
            assertNotEquals(gatewayNet, workerNet, "the worker has its own network namespace");
            List<String> interfaces = Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", "dev")).stream()
                    .skip(2)
                    .map(l -> l.trim().split(":")[0])
                    .toList();
            assertEquals(List.of("lo"), interfaces, "only loopback exists in the worker's namespace");

            for (int i = 0; i < 20; i++) {
                var r = mesh.get(mesh.port, "/v1/echo?msg=from-netns-" + i);
                assertEquals(200, r.statusCode());
                assertEquals("worker-1", Mesh.JSON.readTree(r.body()).get("worker").asText());
            }
            JsonNode health = mesh.awaitStatus("health", s -> mesh.worker(s, "worker-1").has("health"),
                    Duration.ofSeconds(10));
            assertEquals(workerNet, mesh.worker(health, "worker-1").get("health").get("sandbox").get("ns.net").asText());
        }
    }

    @Test
    void sigtermOfTheGatewayStopsEverythingItStarted() throws Exception {
        Mesh mesh = Mesh.start(2).awaitReady(2);
        try {
            List<ProcessHandle> processes = mesh.knownProcesses();
            assertTrue(processes.size() >= 3, "gateway + 2 workers: " + processes);
            mesh.gateway.destroy(); // SIGTERM
            assertTrue(mesh.gateway.waitFor(30, TimeUnit.SECONDS), "gateway exited");
            for (ProcessHandle p : processes) {
                p.onExit().get(10, TimeUnit.SECONDS);
                assertFalse(p.isAlive(), "left running: " + p.pid());
            }
            assertThrows(ConnectException.class, () -> new Socket(InetAddress.getLoopbackAddress(), mesh.port).close(),
                    "nothing listens on the mesh port");
            assertFalse(Files.exists(mesh.runDir.resolve("control.sock")), "control socket removed");
        } finally {
            mesh.close();
        }
    }

    @Test
    void workersDoNotOutliveAKilledGatewayPastTheGracePeriod() throws Exception {
        Mesh mesh = Mesh.start(2).awaitReady(2);
        try {
            List<ProcessHandle> workers = mesh.knownProcesses().stream()
                    .filter(p -> p.pid() != mesh.gateway.pid())
                    .toList();
            // two worker JVMs, each with its bwrap launcher processes
            assertTrue(workers.size() >= 4, workers.toString()); // 2 edges, the broker, a compute worker
            mesh.gateway.destroyForcibly(); // SIGKILL: no shutdown hook runs
            for (ProcessHandle w : workers) {
                w.onExit().get(20, TimeUnit.SECONDS);
            }
            assertThrows(IOException.class, () -> new Socket(InetAddress.getLoopbackAddress(), mesh.port).close());
        } finally {
            mesh.close();
        }
    }

    @Test
    void everyWorkerIsBoxedWithoutCapabilitiesUnderSeccompInItsOwnNamespaces() throws Exception {
        String why = bwrapUnavailable();
        assumeTrue(why == null, () -> "needs bubblewrap with user namespaces: " + why);
        try (Mesh mesh = Mesh.start(2, "--strict").awaitReady(2)) {
            JsonNode status = mesh.awaitStatus("sandbox reports",
                    s -> s.get("workers").findParents("id").stream().allMatch(w -> w.has("health")),
                    Duration.ofSeconds(15));
            assertEquals("", status.get("isolation").get("degraded").asText());
            long gatewayPid = mesh.gateway.pid();
            for (JsonNode w : status.get("workers")) {
                JsonNode sandbox = w.get("health").get("sandbox");
                assertEquals("0000000000000000", sandbox.get("capEff").asText(), w.toString());
                assertEquals("0000000000000000", sandbox.get("capPrm").asText(), w.toString());
                assertEquals("0000000000000000", sandbox.get("capBnd").asText(), w.toString());
                assertEquals("0000000000000000", sandbox.get("capAmb").asText(), w.toString());
                assertEquals("true", sandbox.get("noNewPrivs").asText(), w.toString());
                assertEquals("2", sandbox.get("seccomp").asText(), w.toString());
                assertEquals(sandbox.get("threads").asText(), sandbox.get("threadsWithSeccompFilter").asText(),
                        "TSYNC: every thread is filtered");
                // the same facts from outside, through the host's /proc
                long pid = w.get("pid").asLong();
                List<String> proc = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"));
                assertTrue(proc.contains("CapEff:\t0000000000000000"), proc.toString());
                assertTrue(proc.contains("CapBnd:\t0000000000000000"), proc.toString());
                assertTrue(proc.contains("NoNewPrivs:\t1"), proc.toString());
                assertTrue(proc.contains("Seccomp:\t2"), proc.toString());
                for (String ns : List.of("net", "mnt", "pid", "ipc", "uts", "user")) {
                    String mine = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", ns)).toString();
                    String gateway = Files.readSymbolicLink(
                            Path.of("/proc", Long.toString(gatewayPid), "ns", ns)).toString();
                    assertNotEquals(gateway, mine, ns + " namespace shared with the gateway");
                    assertEquals(mine, sandbox.get("ns." + ns).asText(), "self-report matches /proc for " + ns);
                }
            }
            for (int i = 0; i < 20; i++) {
                assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=boxed").statusCode());
            }
        }
    }

    @Test
    void withoutBwrapWorkersRunDegradedAndSaySoAndStrictRefuses() throws Exception {
        List<String> noBwrap = List.of("env", "PATH=/nonexistent"); // the gateway finds no bwrap on its PATH
        try (Mesh mesh = Mesh.start(noBwrap, Mesh.freePort(), Files.createTempDirectory("shmesh-test-run"), 1)
                .awaitReady(1)) {
            JsonNode status = mesh.awaitStatus("health", s -> mesh.worker(s, "worker-1").has("health"),
                    Duration.ofSeconds(15));
            String degraded = status.get("isolation").get("degraded").asText();
            assertTrue(degraded.contains("bwrap"), degraded);
            assertTrue(mesh.logTail().contains("DEGRADED"), mesh.logTail());
            // still never silently unsandboxed: the worker's own seccomp filter is armed
            assertEquals("2", mesh.worker(status, "worker-1").get("health").get("sandbox").get("seccomp").asText());
            assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=degraded").statusCode());
        }
        try (Mesh strict = Mesh.start(noBwrap, Mesh.freePort(), Files.createTempDirectory("shmesh-test-run"), 1,
                "--strict")) {
            assertTrue(strict.gateway.waitFor(60, TimeUnit.SECONDS), "a strict gateway refuses to start degraded");
            assertEquals(1, strict.gateway.exitValue());
            assertTrue(strict.logTail().contains("bwrap"), strict.logTail());
            assertTrue(strict.knownProcesses().stream().noneMatch(p -> p.pid() != strict.gateway.pid() && p.isAlive()),
                    "no worker was started");
        }
    }

    /** Null when bwrap can build a box with user namespaces here, else why not. */
    static String bwrapUnavailable() {
        try {
            Process p = new ProcessBuilder("bwrap", "--unshare-user", "--unshare-net", "--ro-bind", "/", "/", "true")
                    .redirectErrorStream(true)
                    .start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "bwrap timed out";
            }
            String out = new String(p.getInputStream().readAllBytes());
            return p.exitValue() == 0 ? null : "bwrap failed: " + out.trim() + " (apt-get install bubblewrap)";
        } catch (IOException | InterruptedException e) {
            return "bwrap not runnable (apt-get install bubblewrap): " + e.getMessage();
        }
    }

    /** Null when `unshare --net` works here, else why not. */
    static String unshareNetUnavailable() {
        try {
            List<String> cmd = ProcessHandle.current().info().user().orElse("").equals("root")
                    ? List.of("unshare", "--net", "true")
                    : List.of("unshare", "--user", "--map-current-user", "--net", "true");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unshare timed out";
            }
            String out = new String(p.getInputStream().readAllBytes());
            return p.exitValue() == 0 ? null : "unshare failed: " + out.trim();
        } catch (IOException | InterruptedException e) {
            return "unshare not runnable: " + e.getMessage();
        }
    }
}
