package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.DigestReply;
import dev.shmesh.api.demo.v1.DigestRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The digest service through real shared memory between real processes: an edge worker calls a compute worker's
 * {@code Compute} service over gRPC on shared memory, on the connection the gateway made between them. 4 MiB bodies
 * work over HTTP and gRPC; a compute worker SIGKILLed mid-call costs that call a retry on another compute worker
 * and nothing else; the broker's restart does not touch digests; a stopped mesh leaves nothing in /dev/shm.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DigestOverShmTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void digestsOverHttpAndGrpcAreComputedByAComputeWorkerAndNothingIsLeftInDevShm() throws Exception {
        String meshName = mesh();
        try (Mesh mesh = Mesh.start(2, "--mesh", meshName).awaitReady(2)) {
            byte[] data = "hello shmesh".getBytes();
            for (String alg : List.of("sha-256", "sha-512", "sha3-256")) {
                HttpResponse<String> r = post(mesh, "/v1/digest?alg=" + alg, data);
                assertEquals(200, r.statusCode(), r.body());
                JsonNode json = Mesh.JSON.readTree(r.body());
                assertEquals(hex(alg, data), json.get("digest").asText(), alg);
                assertTrue(json.get("worker").asText().startsWith("worker-"), r.body());
                assertEquals("compute-1", json.get("computedBy").asText(), r.body());
            }
            assertEquals(hex("sha-256", data), Mesh.JSON.readTree(post(mesh, "/v1/digest", data).body())
                    .get("digest").asText(), "SHA-256 by default");
            // the compute worker was spawned only once both edges were ready: the serving path starts first
            List<String> log = Files.readAllLines(mesh.log);
            int computeSpawned = firstLine(log, "spawned compute-1");
            assertTrue(computeSpawned > firstLine(log, "worker-1 ready") && computeSpawned > firstLine(log, "worker-2 ready")
                    && firstLine(log, "worker-1 ready") >= 0 && firstLine(log, "worker-2 ready") >= 0, mesh.logTail());
            HttpResponse<String> bad = post(mesh, "/v1/digest?alg=md5", data);
            assertEquals(400, bad.statusCode(), bad.body());
            // what `curl --data-binary @file` sends: binary data declared as a form; the body is taken as bytes
            byte[] binary = new byte[60_000];
            new Random(3).nextBytes(binary);
            HttpResponse<String> form = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + mesh.port + "/v1/digest?alg=sha3-256"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(binary)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, form.statusCode(), form.body());
            assertEquals(hex("sha3-256", binary), Mesh.JSON.readTree(form.body()).get("digest").asText());

            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext().build();
            try {
                DigestReply reply = DemoGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .digest(DigestRequest.newBuilder().setData(ByteString.copyFrom(data)).setAlgorithm("sha-512").build());
                assertEquals(hex("sha-512", data), HexFormat.of().formatHex(reply.getDigest().toByteArray()));
                assertEquals("compute-1", reply.getComputedBy());
                assertTrue(reply.getWorkerId().startsWith("worker-"));
                StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                        () -> DemoGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                                .digest(DigestRequest.newBuilder().setAlgorithm("crc32").build()));
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            // 4 MiB, gRPC's default message size, over HTTP and gRPC; one byte more is refused
            byte[] big = new byte[4 << 20];
            new Random(4).nextBytes(big);
            HttpResponse<String> bigHttp = post(mesh, "/v1/digest?alg=sha-256", big);
            assertEquals(200, bigHttp.statusCode(), bigHttp.body());
            assertEquals(hex("sha-256", big), Mesh.JSON.readTree(bigHttp.body()).get("digest").asText());
            assertEquals(413, post(mesh, "/v1/digest", new byte[(4 << 20) + 1]).statusCode());
            ManagedChannel bigChannel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext()
                    .maxInboundMessageSize(8 << 20).build();
            try {
                DigestReply reply = DemoGrpc.newBlockingStub(bigChannel).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .digest(DigestRequest.newBuilder().setData(ByteString.copyFrom(big)).setAlgorithm("sha3-256")
                                .build());
                assertEquals(hex("sha3-256", big), HexFormat.of().formatHex(reply.getDigest().toByteArray()));
            } finally {
                bigChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            assertTrue(segments(meshName).size() > 3, "the broker's segments exist while the mesh runs");
            // least privilege: the edge holds its listener and no broker segment, the compute nothing at all; they
            // talk only over the connection the gateway made between them
            JsonNode status = mesh.status();
            assertEquals(List.of("http"), fieldNames(mesh.worker(status, "worker-1").get("health").get("fds")));
            assertEquals(List.of(), fieldNames(mesh.worker(status, "compute-1").get("health").get("fds")));
            mesh.gateway.destroy();
            assertTrue(mesh.gateway.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(List.of(), segments(meshName), "a stopped mesh leaves nothing in /dev/shm");
    }

    @Test
    void aComputeWorkerSigkilledMidCallCostsThatCallARetryOnAnotherAndIsAnsweredOnce() throws Exception {
        try (Mesh mesh = Mesh.start(1, "--mesh", mesh(), "--computes", "2",
                "-Dshmesh.worker.jvm-args=-Dshmesh.compute.delay-ms=3000").awaitReady(1)) {
            byte[] data = "computed twice, answered once".getBytes();
            CompletableFuture<HttpResponse<String>> call = postAsync(mesh, "/v1/digest?alg=sha-512", data);
            JsonNode busy = mesh.awaitStatus("a compute worker computing the digest", s ->
                    inFlight(mesh, s, "compute-1") + inFlight(mesh, s, "compute-2") == 1, Duration.ofSeconds(30));
            String victim = inFlight(mesh, busy, "compute-1") == 1 ? "compute-1" : "compute-2";
            String survivor = victim.equals("compute-1") ? "compute-2" : "compute-1";
            ProcessHandle.of(mesh.worker(busy, victim).get("pid").asLong()).orElseThrow().destroyForcibly();
            HttpResponse<String> r = call.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode json = Mesh.JSON.readTree(r.body());
            assertEquals(hex("sha-512", data), json.get("digest").asText());
            assertEquals(survivor, json.get("computedBy").asText(), "the call moved to the other compute worker");
            // the killed one comes back and gets its connections again: it computes the next digests too
            mesh.awaitStatus(victim + " restarted", s -> mesh.worker(s, victim).get("restarts").asInt() == 1
                    && mesh.worker(s, victim).get("state").asText().equals("ready"), Duration.ofSeconds(60));
            java.util.Set<String> computedBy = new java.util.HashSet<>();
            for (int i = 0; i < 4 && computedBy.size() < 2; i++) {
                List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
                for (int j = 0; j < 4; j++) {
                    calls.add(postAsync(mesh, "/v1/digest", ("after " + i + "/" + j).getBytes()));
                }
                for (CompletableFuture<HttpResponse<String>> c : calls) {
                    HttpResponse<String> after = c.get(60, TimeUnit.SECONDS);
                    assertEquals(200, after.statusCode(), after.body());
                    computedBy.add(Mesh.JSON.readTree(after.body()).get("computedBy").asText());
                }
            }
            assertEquals(java.util.Set.of("compute-1", "compute-2"), computedBy, "both compute workers serve again");
        }
    }

    @Test
    void sigkillOfTheBrokerLeavesDigestsAlone() throws Exception {
        try (Mesh mesh = Mesh.start(1, "--mesh", mesh()).awaitReady(1)) {
            long broker = pid(mesh, "broker");
            ProcessHandle.of(broker).orElseThrow().destroyForcibly();
            assertEquals(200, post(mesh, "/v1/digest", "while the broker restarts".getBytes()).statusCode());
            JsonNode restarted = mesh.awaitStatus("the broker restarted and re-attached", s ->
                    mesh.worker(s, "broker").get("restarts").asInt() == 1
                            && mesh.worker(s, "broker").get("state").asText().equals("ready")
                            && mesh.worker(s, "broker").get("health").get("info").has("broker.reattached"),
                    Duration.ofSeconds(60));
            assertEquals("true", mesh.worker(restarted, "broker").get("health").get("info").get("broker.reattached")
                    .asText(), "the new broker re-attached to the segments instead of recreating them");
            HttpResponse<String> r = post(mesh, "/v1/digest", "after".getBytes());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(hex("sha-256", "after".getBytes()), Mesh.JSON.readTree(r.body()).get("digest").asText());
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static long inFlight(Mesh mesh, JsonNode status, String id) {
        JsonNode w = mesh.worker(status, id);
        JsonNode info = w == null || w.get("health") == null ? null : w.get("health").get("info");
        return info == null || !info.has("compute.inFlight") ? 0 : info.get("compute.inFlight").asLong();
    }

    /** The index of the first line containing {@code text}, or -1. */
    private static int firstLine(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }

    private static String mesh() {
        return "t" + Long.toHexString(System.nanoTime() & 0xFFFFFFFL);
    }

    private static long pid(Mesh mesh, String id) throws IOException {
        return mesh.worker(mesh.status(), id).get("pid").asLong();
    }

    private static HttpResponse<String> post(Mesh mesh, String path, byte[] body) throws IOException {
        try {
            return HTTP.send(request(mesh, path, body), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(Mesh mesh, String path, byte[] body) {
        return HTTP.sendAsync(request(mesh, path, body), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest request(Mesh mesh, String path, byte[] body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mesh.port + path))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    private static String hex(String alg, byte[] data) throws Exception {
        String jca = switch (alg) {
            case "sha-256" -> "SHA-256";
            case "sha-512" -> "SHA-512";
            default -> "SHA3-256";
        };
        return HexFormat.of().formatHex(MessageDigest.getInstance(jca).digest(data));
    }

    private static List<String> segments(String mesh) throws IOException {
        try (var files = Files.list(Path.of("/dev/shm"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("shmesh-" + mesh)).sorted().toList();
        }
    }
}
