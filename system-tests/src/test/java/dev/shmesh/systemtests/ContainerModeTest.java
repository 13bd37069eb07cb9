package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Container mode, with plain processes standing in for containers: the gateway spawns nothing and
 * accepts workers started by someone else that present the mesh token; a wrong token or a taken id
 * is refused, and a worker that goes away leaves the status.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ContainerModeTest {
    private static final String TOKEN = "test-mesh-token-0123456789";

    @Test
    void workersStartedOutsideTheGatewayJoinWithTheMeshToken() throws Exception {
        List<Process> workers = new ArrayList<>();
        try (Mesh mesh = Mesh.start(0, "--mode", "container", "-Dshmesh.mesh-token=" + TOKEN,
                "-Dshmesh.broker.enabled=false")) {
            // a root gateway re-executes as its unprivileged user before it takes workers: wait for that one
            mesh.awaitStatus("the gateway's control socket", s -> s.has("controlSocket")
                    && java.nio.file.Files.exists(mesh.runDir.resolve("control.sock")), Duration.ofSeconds(60));
            workers.add(startWorker(mesh, "c1", TOKEN));
            workers.add(startWorker(mesh, "c2", TOKEN));
            mesh.awaitReady(2);

            Set<String> served = new HashSet<>();
            for (int i = 0; i < 40; i++) {
                served.add(Mesh.JSON.readTree(mesh.get(mesh.port, "/v1/echo?msg=c").body()).get("worker").asText());
            }
            assertTrue(Set.of("worker-c1", "worker-c2").containsAll(served) && !served.isEmpty(), served.toString());

            Process impostor = startWorker(mesh, "c3", "wrong-token-but-long-enough");
            workers.add(impostor);
            assertTrue(impostor.waitFor(60, TimeUnit.SECONDS), "a worker with the wrong token gives up");
            assertEquals(76, impostor.exitValue(), "handshake failure exit code");

            Process twin = startWorker(mesh, "c1", TOKEN);
            workers.add(twin);
            assertTrue(twin.waitFor(60, TimeUnit.SECONDS), "a second worker-c1 is refused");
            assertEquals(76, twin.exitValue());
            JsonNode status = mesh.status();
            assertEquals(2, status.get("rejectedPeers").asLong(), status.toString());

            workers.get(1).destroy();
            mesh.awaitStatus("worker-c2 gone", s -> s.get("workers").size() == 1, Duration.ofSeconds(30));
            assertEquals("worker-c1", mesh.status().get("workers").get(0).get("id").asText());
        } finally {
            for (Process p : workers) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static Process startWorker(Mesh mesh, String host, String token) throws IOException {
        // as a container runtime runs them: as the gateway's uid (a gateway started as root has dropped to another)
        int[] ids = mesh.gatewayIds();
        List<String> command = new ArrayList<>();
        if (ids[0] != (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid")) {
            command.addAll(List.of("setpriv", "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Mesh.JVM_OPTIONS, "-jar", Mesh.WORKER_JAR.toString()));
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().remove("SHMESH_WORKER_ID");
        pb.environment().put("HOSTNAME", host);
        pb.environment().put("SHMESH_CONTROL_SOCKET", mesh.runDir.resolve("control.sock").toString());
        pb.environment().put("SHMESH_TOKEN", token);
        return pb.start();
    }
}
