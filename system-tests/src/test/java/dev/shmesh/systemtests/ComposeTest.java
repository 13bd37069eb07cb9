package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.DigestReply;
import dev.shmesh.api.demo.v1.DigestRequest;
import dev.shmesh.api.demo.v1.EchoReply;
import dev.shmesh.api.demo.v1.EchoRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.DockerComposeContainer;

/**
 * The top-level docker-compose.yml, for real, through Testcontainers and the local docker-compose: the
 * gateway in container mode, the broker, a compute worker and edge workers in containers without a
 * network, scaled up and down while a client calls HTTP and gRPC from this JVM through 127.0.0.1.
 * Needs a Docker engine and the images from {@code ./shmesh images} (.ci/run provides both).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ComposeTest {
    private static final String TOKEN = "compose-test-token-0123456789";

    @Test
    void composeUpServesEchoAndDigestFromSandboxedWorkerContainersAndScales() throws Exception {
        String why = dockerUnavailable();
        assumeTrue(why == null, () -> "needs a Docker engine, docker-compose and the shmesh:0.1.0 image: " + why);
        int port = Mesh.freePort();
        int admin = Mesh.freePort();
        Map<String, String> env = Map.of("SHMESH_PORT", Integer.toString(port), "SHMESH_ADMIN_PORT",
                Integer.toString(admin), "SHMESH_MESH_TOKEN", TOKEN);
        File composeFile = Mesh.ROOT.resolve("docker-compose.yml").toFile();
        try (DockerComposeContainer<?> compose = new DockerComposeContainer<>("shmeshit", composeFile)
                .withEnv(env)
                .withPull(false)
                .withBuild(false)
                .withRemoveVolumes(true)
                .withScaledService("worker", 2)
                .withScaledService("compute", 1)) { // naming services makes Testcontainers start only those (and their dependencies)
            compose.start();
            String project = projectOf("shmeshit");
            JsonNode status;
            try {
                status = awaitEdges(admin, 2);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n--- compose ps ---\n" + run(List.of("docker", "ps", "-a",
                        "--filter", "label=com.docker.compose.project=" + project)) + "\n--- compute logs ---\n"
                        + run(List.of("sh", "-c", "docker ps -aq --filter label=com.docker.compose.project=" + project
                                + " --filter label=com.docker.compose.service=compute | xargs -r -n1 docker logs --tail 30")), e);
            }
            assertEquals(1, count(status, "broker"), status.toString());
            assertEquals(1, count(status, "compute"), status.toString());

            var http = java.net.http.HttpClient.newHttpClient();
            var echo = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + port + "/v1/echo?msg=compose")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, echo.statusCode());
            assertTrue(Mesh.JSON.readTree(echo.body()).get("worker").asText().startsWith("worker-"), echo.body());

            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
            try {
                EchoReply reply = DemoGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                        .echo(EchoRequest.newBuilder().setPayload(ByteString.copyFromUtf8("grpc")).build());
                assertEquals("grpc", reply.getPayload().toStringUtf8());
                byte[] data = "digest me in a container".getBytes();
                DigestReply digest = DemoGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                        .digest(DigestRequest.newBuilder().setData(ByteString.copyFrom(data)).setAlgorithm("sha-256").build());
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)),
                        HexFormat.of().formatHex(digest.getDigest().toByteArray()));
                assertTrue(digest.getComputedBy().startsWith("compute-"), digest.toString());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }

            for (String container : containers(project, "worker")) {
                assertWorkerContainerIsBoxed(container);
            }
            for (JsonNode w : Mesh.edges(status)) {
                JsonNode sandbox = w.get("health").get("sandbox");
                assertEquals("0000000000000000", sandbox.get("capEff").asText(), w.toString());
                assertEquals("2", sandbox.get("seccomp").asText(), w.toString());
            }

            compose(project, env, "up", "-d", "--no-recreate", "--scale", "worker=3");
            awaitEdges(admin, 3);
            assertEquals(3, containers(project, "worker").size());
            compose(project, env, "up", "-d", "--no-recreate", "--scale", "worker=1");
            awaitEdges(admin, 1);
            assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + port + "/v1/echo?msg=scaled")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
        }
    }

    /** From the host: the container's process (java, pid 1 inside) has no capability, no_new_privs, seccomp, only lo. */
    private static void assertWorkerContainerIsBoxed(String container) throws Exception {
        String pid = run(List.of("docker", "inspect", "-f", "{{.State.Pid}}", container)).trim();
        List<String> proc = Files.readAllLines(Path.of("/proc", pid, "status"));
        assertTrue(proc.contains("CapEff:\t0000000000000000"), container + " " + proc);
        assertTrue(proc.contains("NoNewPrivs:\t1"), container + " " + proc);
        assertTrue(proc.contains("Seccomp:\t2"), container + " " + proc);
        assertTrue(proc.stream().anyMatch(l -> l.matches("Uid:\\s+10001\\s.*")), container + " runs as 10001: " + proc);
        List<String> interfaces = Files.readAllLines(Path.of("/proc", pid, "net", "dev")).stream()
                .skip(2).map(l -> l.trim().split(":")[0]).toList();
        assertEquals(List.of("lo"), interfaces, container + " sees only loopback");
    }

    private static JsonNode awaitEdges(int admin, int n) throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            try {
                var r = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + admin + "/status")).timeout(Duration.ofSeconds(5)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                last = Mesh.JSON.readTree(r.body());
                List<JsonNode> edges = Mesh.edges(last);
                if (edges.size() == n && edges.stream().allMatch(w -> w.get("state").asText().equals("ready")
                        && w.has("health")) && count(last, "compute") >= 1) {
                    return last;
                }
            } catch (IOException e) {
                // the gateway container is still starting
            }
            Mesh.sleep(500);
        }
        throw new AssertionError("timed out waiting for " + n + " ready edge workers; last status: " + last);
    }

    private static long count(JsonNode status, String role) {
        long n = 0;
        for (JsonNode w : status.get("workers")) {
            if (w.get("role").asText().equals(role) && w.get("state").asText().equals("ready")) {
                n++;
            }
        }
        return n;
    }

    private static String projectOf(String identifier) throws Exception {
        for (String line : run(List.of("docker", "ps", "--format", "{{.Label \"com.docker.compose.project\"}}")).split("\n")) {
            if (line.startsWith(identifier)) {
                return line.trim();
            }
        }
        throw new AssertionError("no running compose project named " + identifier + "*");
    }

    private static List<String> containers(String project, String service) throws Exception {
        List<String> ids = new ArrayList<>();
        for (String id : run(List.of("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + project,
                "--filter", "label=com.docker.compose.service=" + service)).split("\n")) {
            if (!id.isBlank()) {
                ids.add(id.trim());
            }
        }
        return ids;
    }

    private static void compose(String project, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("docker-compose", "-p", project, "-f",
                Mesh.ROOT.resolve("docker-compose.yml").toString()));
        cmd.addAll(List.of(args));
        // the compose file's relative paths (seccomp profiles) resolve against the working directory
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(Mesh.ROOT.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "docker-compose " + String.join(" ", args) + " timed out");
        assertEquals(0, p.exitValue(), "docker-compose " + String.join(" ", args) + ":\n" + out);
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " timed out");
        }
        return out;
    }

    /** Null when docker, docker-compose and the image are there, else what is missing. */
    private static String dockerUnavailable() {
        try {
            for (List<String> probe : List.of(List.of("docker", "info"), List.of("docker-compose", "version"),
                    List.of("docker", "image", "inspect", "shmesh:0.1.0"))) {
                Process p = new ProcessBuilder(probe).redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    return String.join(" ", probe) + " failed" + (probe.get(1).equals("image")
                            ? " (build it with ./shmesh images)" : " (install docker.io and docker-compose, start dockerd)");
                }
            }
            return null;
        } catch (IOException | InterruptedException e) {
            return "docker not runnable: " + e.getMessage();
        }
    }
}
