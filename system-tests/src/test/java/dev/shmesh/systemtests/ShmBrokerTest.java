package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The digest service through real shared memory between real processes: edge workers put jobs on the
 * broker's ring, compute workers answer through reply rings. Crashes of a compute worker or of the broker
 * lose no job; a process scribbling over a ring gets that ring fenced, nothing else; a stopped mesh leaves
 * nothing in /dev/shm.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ShmBrokerTest {
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
            String metrics = mesh.get(mesh.adminPort, "/metrics").body();
            assertTrue(metric(metrics, "shmesh_ring_enqueued", "jobs") >= 5, metrics);
            assertTrue(segments(meshName).size() > 3, "the broker's segments exist while the mesh runs");
            mesh.gateway.destroy();
            assertTrue(mesh.gateway.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(List.of(), segments(meshName), "a stopped mesh leaves nothing in /dev/shm");
    }

    @Test
    void aFullJobsRingAnswers503AtOnceAndQueuedJobsAreAnsweredLater() throws Exception {
        String meshName = mesh();
        try (Mesh mesh = Mesh.start(1, "--mesh", meshName).awaitReady(1)) {
            long compute = pid(mesh, "compute-1");
            signal("STOP", compute);
            try {
                List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
                for (int i = 0; i < 200; i++) { // the jobs ring holds 128
                    calls.add(postAsync(mesh, "/v1/digest", ("job " + i).getBytes()));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int full = 0;
                for (CompletableFuture<HttpResponse<String>> c : calls) {
                    HttpResponse<String> r = c.isDone() ? c.get() : null;
                    while (r == null && System.nanoTime() < deadline) {
                        // jobs beyond the ring's capacity must be refused at once, while the compute is stopped
                        r = c.isDone() ? c.get() : null;
                        if (r == null) {
                            Mesh.sleep(10);
                            break;
                        }
                    }
                    if (r != null && r.statusCode() == 503) {
                        full++;
                    }
                }
                assertTrue(full >= 200 - 128, "refused while the ring was full: " + full);
                ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext().build();
                try {
                    StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                            () -> DemoGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                                    .digest(DigestRequest.newBuilder().setData(ByteString.copyFromUtf8("one more")).build()));
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
                signal("CONT", compute);
                int ok = 0;
                for (CompletableFuture<HttpResponse<String>> c : calls) {
                    HttpResponse<String> r = c.get(30, TimeUnit.SECONDS);
                    if (r.statusCode() == 200) {
                        ok++;
                    } else {
                        assertEquals(503, r.statusCode(), r.body());
                    }
                }
                assertEquals(200, ok + full, "every call answered: " + ok + " computed, " + full + " refused");
                assertTrue(ok >= 100, "queued jobs computed after the compute worker resumed: " + ok);
            } finally {
                signal("CONT", compute);
            }
        }
    }

    @Test
    void sigkillOfAComputeWorkerInsideTheRingsPollLosesNoJobAndAnswersEachOnceLongBeforeItsLeasesExpire()
            throws Exception {
        String meshName = mesh();
        // leases of 10 minutes: whatever comes back within the test's timeouts came back because the gateway told
        // the broker that compute-1 is gone, not because a deadline passed
        try (Mesh mesh = Mesh.start(1, "--computes", "2", "--mesh", meshName,
                "-Dshmesh.worker.jvm-args=-Dshmesh.compute.lease-ms=600000").awaitReady(1)) {
            Random random = new Random(7);
            long rescued = 0;
            for (int attempt = 1; attempt <= 3 && rescued == 0; attempt++) {
                long c1 = pid(mesh, "compute-1");
                long c2 = pid(mesh, "compute-2");
                signal("STOP", c1);
                signal("STOP", c2);
                List<byte[]> inputs = new ArrayList<>();
                List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    byte[] data = new byte[60_000];
                    random.nextBytes(data);
                    inputs.add(data);
                    calls.add(postAsync(mesh, "/v1/digest?alg=sha3-256", data));
                }
                Mesh.sleep(1000); // every job is on the ring
                signal("CONT", c1);
                // compute-1 takes batches of jobs: stop it while it is inside the ring's poll, holding taken
                // positions it has not freed (some already copied into leases, some not), and kill it there
                freezeInsidePoll(meshName, c1);
                ProcessHandle.of(c1).orElseThrow().destroyForcibly();
                signal("CONT", c2);
                for (int i = 0; i < calls.size(); i++) {
                    HttpResponse<String> r = calls.get(i).get(60, TimeUnit.SECONDS);
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals(hex("sha3-256", inputs.get(i)), Mesh.JSON.readTree(r.body()).get("digest").asText(),
                            "call " + i + " got its own answer");
                }
                int restarts = attempt;
                // compute-1 restarted; the broker learned its old member is gone, holds no lease any more (all
                // completed or taken back) and freed the dead consumer's record on the jobs ring
                JsonNode s = mesh.awaitStatus("compute-1 back, nothing held by the dead one", st -> {
                    JsonNode info = mesh.worker(st, "broker").get("health").get("info");
                    return mesh.worker(st, "compute-1").get("restarts").asInt() == restarts
                            && mesh.worker(st, "compute-1").get("state").asText().equals("ready")
                            && info.get("broker.goneMembers").asInt() >= restarts
                            && info.get("broker.leasesInUse").asInt() == 0
                            && info.get("broker.jobConsumers").asInt() == 2
                            && info.get("broker.jobProducers").asInt() == 2; // the edge, and the broker redelivering
                }, Duration.ofSeconds(60));
                rescued = mesh.worker(s, "broker").get("health").get("info").get("broker.rescued").asLong();
            }
            assertTrue(rescued > 0, "jobs taken inside the poll by the killed compute worker were rescued");
            assertTrue(metric(mesh.get(mesh.adminPort, "/metrics").body(), "shmesh_ring_redelivered", "jobs") > 0);
        }
    }

    @Test
    void sigkillOfTheBrokerLosesNothingQueued() throws Exception {
        String meshName = mesh();
        try (Mesh mesh = Mesh.start(1, "--mesh", meshName).awaitReady(1)) {
            long compute = pid(mesh, "compute-1");
            signal("STOP", compute);
            List<CompletableFuture<HttpResponse<String>>> queued = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    queued.add(postAsync(mesh, "/v1/digest", ("queued " + i).getBytes()));
                }
                Mesh.sleep(500); // all 50 on the ring, none computed
                long broker = pid(mesh, "broker");
                ProcessHandle.of(broker).orElseThrow().destroyForcibly();
                mesh.awaitStatus("broker restarted", s -> mesh.worker(s, "broker").get("restarts").asInt() == 1
                        && mesh.worker(s, "broker").get("state").asText().equals("ready"), Duration.ofSeconds(60));
                JsonNode restarted = mesh.awaitStatus("the new broker's health", s ->
                        mesh.worker(s, "broker").get("health").get("info").has("broker.reattached"), Duration.ofSeconds(10));
                assertEquals("true", mesh.worker(restarted, "broker").get("health").get("info").get("broker.reattached")
                        .asText(), "the new broker re-attached to the segments instead of recreating them");
                assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=during").statusCode());
            } finally {
                signal("CONT", compute);
            }
            for (int i = 0; i < queued.size(); i++) {
                HttpResponse<String> r = queued.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(hex("sha-256", ("queued " + i).getBytes()), Mesh.JSON.readTree(r.body()).get("digest").asText());
            }
        }
    }

    @Test
    void aProcessScribblingOverTheJobsRingGetsOnlyThatRingFenced() throws Exception {
        String meshName = mesh();
        try (Mesh mesh = Mesh.start(1, "--mesh", meshName).awaitReady(1)) {
            assertEquals(200, post(mesh, "/v1/digest", new byte[] {1}).statusCode());
            JsonNode before = mesh.status();
            // a hostile process with write access: garbage over the ring's slots
            try (FileChannel ch = FileChannel.open(Path.of("/dev/shm/shmesh-" + meshName + "-jobs"),
                    StandardOpenOption.WRITE)) {
                byte[] garbage = new byte[64 * 1024];
                java.util.Arrays.fill(garbage, (byte) 0x5A);
                ch.write(ByteBuffer.wrap(garbage), 4096);
            }
            JsonNode fenced = mesh.awaitStatus("the broker reports the fenced ring", s -> {
                HttpResponse<String> r;
                try {
                    r = post(mesh, "/v1/digest", new byte[] {2});
                } catch (IOException e) {
                    return false;
                }
                return r.statusCode() == 503 && mesh.worker(s, "broker").get("health").get("info")
                        .get("broker.fenced").asText().contains("jobs");
            }, Duration.ofSeconds(30));
            HttpResponse<String> r = post(mesh, "/v1/digest", new byte[] {3});
            assertEquals(503, r.statusCode());
            assertTrue(r.body().contains("fenced"), r.body());
            assertTrue(mesh.logTail().contains("fenced off"), mesh.logTail());
            // nothing else is touched: same processes, echo serves, the reply rings are fine
            for (String id : List.of("broker", "worker-1", "compute-1")) {
                assertEquals(mesh.worker(before, id).get("pid").asLong(), mesh.worker(fenced, id).get("pid").asLong(), id);
                assertEquals("ready", mesh.worker(fenced, id).get("state").asText(), id);
            }
            assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=unaffected").statusCode());
            assertTrue(mesh.worker(fenced, "broker").get("health").get("info").get("broker.fenced").asText()
                    .lines().noneMatch(l -> l.contains("replies")));
        }
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

    /**
     * Stops {@code compute} at a moment when it is inside the jobs ring's poll: it has taken positions it has not
     * freed yet. Gives up after a few hundred tries and leaves it stopped wherever it is.
     */
        private static void freezeInsidePoll(String meshName, long compute) throws Exception {
        try (dev.shmesh.broker.ManyToManyRing jobs = dev.shmesh.broker.ManyToManyRing.open(
                Path.of("/dev/shm/shmesh-" + meshName + "-jobs"))) {
            for (int attempt = 0; attempt < 500; attempt++) {
                signal("STOP", compute);
                awaitStopped(compute);
                if (jobs.claimedUnreleased() > 0) {
                    return;
                }
                signal("CONT", compute);
                Thread.sleep(0, 100_000);
            }
        }
    }

    /** Waits until every thread of {@code pid} is in the stopped state: SIGSTOP is delivered asynchronously. */
    private static void awaitStopped(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            boolean allStopped = true;
            try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : tasks.toList()) {
                    String stat = Files.readString(task.resolve("stat"));
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    allStopped &= state == 'T' || state == 't';
                }
            }
            if (allStopped) {
                return;
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("pid " + pid + " did not stop within 5 s");
    }

    private static String mesh() {
        return "t" + Long.toHexString(System.nanoTime() & 0xFFFFFFFL);
    }

    private static long pid(Mesh mesh, String id) throws IOException {
        return mesh.worker(mesh.status(), id).get("pid").asLong();
    }

    private static void signal(String signal, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor());
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

    private static double metric(String metrics, String name, String ring) {
        Matcher m = Pattern.compile("^" + name + "\\{ring=\"" + ring + "\"\\} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    private static List<String> segments(String mesh) throws IOException {
        try (var files = Files.list(Path.of("/dev/shm"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("shmesh-" + mesh)).sorted().toList();
        }
    }
}
