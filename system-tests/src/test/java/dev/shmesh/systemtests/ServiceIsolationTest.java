package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Least privilege between services, seen from inside one: a service holds the rings of its own conversations and
 * nothing else. It cannot list another conversation's segment (there is none in /dev/shm: rings are anonymous memfds
 * handed to their two parties only), nor see another process to take its fds from /proc.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ServiceIsolationTest {
    static final Path PROBE_JAR = Mesh.ROOT.resolve("mesh-probe/target/mesh-probe.jar");

    @Test
    void aServiceMapsOnlyTheRingsOfItsOwnConversationsAndSeesNoOtherProcess() throws Exception {
        int port = Mesh.freePort();
        // victim: public (the edge calls it) and calls the ledger; probe: internal, calls the ledger only
        Path file = ServicesMeshTest.writeMeshFile("""
                listeners:
                  - name: public
                    address: 127.0.0.1
                    port: %d
                edge:
                  replicas: 1
                services:
                  - name: victim
                    artifact: %s
                    exposure: public
                    grpc: [shmesh.test.v1.Victim]
                    calls: [ledger]
                    env:
                      PROBE_CALLS: ledger
                    resources:
                      heap: 48m
                  - name: probe
                    artifact: %s
                    exposure: internal
                    calls: [ledger]
                    env:
                      PROBE_CALLS: ledger
                    resources:
                      heap: 48m
                  - name: ledger
                    artifact: %s
                    exposure: internal
                    grpc: [shmesh.example.v1.Ledger]
                    resources:
                      heap: 64m
                """.formatted(port, PROBE_JAR, PROBE_JAR, ServicesMeshTest.LEDGER_JAR));
        try (Mesh mesh = Mesh.start(List.of(), port, Files.createTempDirectory("shmesh-test-run"), 1,
                "-f", file.toString()).awaitReady(1)) {
            JsonNode status = mesh.awaitStatus("both probes connected to the ledger, the victim to the edge",
                    s -> info(mesh, s, "probe-1", "probe.replicas.ledger").equals("ledger-1")
                            && info(mesh, s, "victim-1", "probe.replicas.ledger").equals("ledger-1")
                            && info(mesh, s, "probe-1", "probe.rings").equals("2")
                            && info(mesh, s, "victim-1", "probe.rings").equals("4"),
                    Duration.ofSeconds(30));
            // the measure counts real rings: the victim, in two conversations (edge -> victim, victim -> ledger),
            // holds four; the probe, in one, exactly its two
            assertEquals("4", info(mesh, status, "victim-1", "probe.rings"));
            assertEquals("2", info(mesh, status, "probe-1", "probe.rings"));

            String devShm = info(mesh, status, "probe-1", "probe.devShm");
            assertTrue(devShm.equals("absent") || Stream.of(devShm.split(",")).noneMatch(n -> n.startsWith("shmesh")),
                    "no segment of any conversation is reachable by name: " + devShm);

            Set<String> otherPids = Stream.of("worker-1", "victim-1", "ledger-1")
                    .map(id -> mesh.worker(status, id).get("pid").asText()).collect(Collectors.toSet());
            otherPids.add(status.get("gateway").get("pid").asText());
            Set<String> visible = Set.of(info(mesh, status, "probe-1", "probe.pids").split(","));
            assertTrue(visible.size() <= 3, "only its own sandbox's processes: " + visible);
            assertFalse(visible.stream().anyMatch(otherPids::contains),
                    "no other process of the mesh is visible (its fds could be taken from /proc): " + visible
                            + " vs " + otherPids);
        }
    }

    private static String info(Mesh mesh, JsonNode status, String worker, String key) {
        JsonNode value = mesh.worker(status, worker).path("health").path("info").path(key);
        return value.isMissingNode() ? "" : value.asText();
    }

}
