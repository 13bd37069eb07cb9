package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gateway started as root gives root up before it serves: every one of its threads ends as an unprivileged uid
 * with no capability in any set (effective, permitted, bounding, ambient) and no_new_privs, and it still serves,
 * gets shared memory from its broker and restarts a killed worker.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PrivilegeDropTest {

    @Test
    void aGatewayStartedAsRootEndsUnprivilegedOnEveryThreadAndStillServesAndRestartsAWorker() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().orElse("").equals("root"), "needs root to start the gateway as root");
        try (Mesh mesh = Mesh.start(2).awaitReady(2)) {
            long pid = mesh.gateway.pid(); // the same process: it re-executed itself after dropping root
            Map<String, Map<String, String>> threads = threads(pid);
            assertTrue(threads.size() > 10, "a JVM's threads: " + threads.keySet());
            for (Map.Entry<String, Map<String, String>> t : threads.entrySet()) {
                Map<String, String> s = t.getValue();
                String where = "gateway thread " + t.getKey() + " (" + s.get("Name") + "): " + s;
                for (String id : s.get("Uid").split("\\s+")) {
                    assertNotEquals("0", id, where);
                }
                for (String id : s.get("Gid").split("\\s+")) {
                    assertNotEquals("0", id, where);
                }
                for (String set : List.of("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh")) {
                    assertEquals("0000000000000000", s.get(set), set + " of " + where);
                }
                assertEquals("1", s.get("NoNewPrivs"), where);
            }
            JsonNode gateway = mesh.status().get("gateway");
            assertEquals(65534, gateway.get("uid").asInt(), gateway.toString());
            assertEquals("nobody", gateway.get("droppedRootTo").asText(), gateway.toString());
            assertTrue(gateway.get("sandbox").get("fullyConfined").asBoolean(), gateway.toString());
            assertTrue(mesh.logTail().contains("dropping root: becoming nobody"), mesh.logTail());

            assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=unprivileged").statusCode());
            // the broker, spawned by the unprivileged gateway, created the segments the digest travels through
            for (String segment : MeshLockTest.segments(mesh.name)) {
                assertEquals(65534, (Integer) Files.getAttribute(Path.of("/dev/shm", segment), "unix:uid"), segment);
            }
            var digest = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                                    "http://127.0.0.1:" + mesh.port + "/v1/digest"))
                            .timeout(Duration.ofSeconds(20))
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("x"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, digest.statusCode(), digest.body());

            long victim = mesh.worker(mesh.status(), "worker-1").get("pid").asLong();
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            JsonNode after = mesh.awaitStatus("worker-1 restarted and ready",
                    s -> mesh.worker(s, "worker-1").get("restarts").asInt() == 1
                            && mesh.worker(s, "worker-1").get("state").asText().equals("ready"),
                    Duration.ofSeconds(60));
            assertNotEquals(victim, mesh.worker(after, "worker-1").get("pid").asLong());
            for (int i = 0; i < 10; i++) {
                assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=after-restart").statusCode());
            }
        }
    }

    @Test
    void workersOfAGatewayStartedAsRootRunAsAnUnprivilegedHostUidNotJustInsideTheirUserNamespace() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().orElse("").equals("root"), "needs root to start the gateway as root");
        try (Mesh mesh = Mesh.start(2).awaitReady(2)) {
            List<ProcessHandle> tree = mesh.gateway.toHandle().descendants().toList();
            assertTrue(tree.size() >= 8, "bwrap and the JVM of the broker, 2 edges and a compute: " + tree);
            for (ProcessHandle p : tree) {
                List<String> status;
                try {
                    status = statusLines(p.pid());
                } catch (NoSuchFileException gone) {
                    continue;
                }
                String uid = status.stream().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
                // seen from the host, not from inside the box (where every worker is 65534 anyway)
                assertTrue(uid.matches("Uid:\\s+65534\\s+65534\\s+65534\\s+65534"),
                        p.pid() + " " + p.info().command().orElse("?") + ": " + uid);
            }
            for (JsonNode w : mesh.status().get("workers")) {
                String uid = statusLines(w.get("pid").asLong()).stream().filter(l -> l.startsWith("Uid:")).findFirst()
                        .orElseThrow();
                assertTrue(uid.startsWith("Uid:\t65534\t"), w.get("id").asText() + ": " + uid);
            }
        }
    }

    /** Every thread's status fields, from the host's /proc. */
    static Map<String, Map<String, String>> threads(long pid) throws IOException {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                Map<String, String> fields = new LinkedHashMap<>();
                try {
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        int colon = line.indexOf(':');
                        if (colon > 0) {
                            fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                        }
                    }
                } catch (NoSuchFileException ended) {
                    continue;
                }
                out.put(task.getFileName().toString(), fields);
            }
        }
        return out;
    }

    static List<String> statusLines(long pid) throws IOException {
        return new ArrayList<>(Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")));
    }
}
