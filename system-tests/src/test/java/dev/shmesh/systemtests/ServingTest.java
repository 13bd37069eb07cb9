package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.EchoReply;
import dev.shmesh.api.demo.v1.EchoRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionRequest;
import io.grpc.reflection.v1alpha.ServerReflectionResponse;
import io.grpc.reflection.v1alpha.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One mesh port serves HTTP/1.1, h2c and gRPC from every worker, straight from the handed fd. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServingTest {
    private static Mesh mesh;

    @BeforeAll
    static void startMesh() throws Exception {
        mesh = Mesh.start(2).awaitReady(2);
    }

    @AfterAll
    static void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    /*
     * Workers start from the AOT cache the build trained with jvm.options; an archive dumped with other flags (as
     * Quarkus's AppCDS archive was) makes every start print [error][cds] lines and lose the archived module graph.
     */
    @Test
    void workersStartFromTheBuiltAotCacheWithoutJvmErrors() throws Exception {
        assertTrue(Files.isRegularFile(Mesh.WORKER_JAR.resolveSibling("app.aot")), "the worker build trains app.aot");
        List<String> jvmComplaints = Files.readAllLines(mesh.log).stream()
                .filter(line -> line.matches("\\[[0-9.]+s\\]\\[(error|warning)\\].*"))
                .toList();
        assertEquals(List.of(), jvmComplaints, mesh.logTail());
    }

    /* Quarkus reports the address the worker really serves on: the mesh listener's, from the Assign. */
    @Test
    void workersReportTheMeshAddressTheyServeOn() throws Exception {
        List<String> log = Files.readAllLines(mesh.log);
        for (String worker : List.of("worker-1", "worker-2")) {
            assertTrue(log.stream().anyMatch(l -> l.contains("[worker " + worker + "]")
                    && l.contains("Listening on: http://127.0.0.1:" + mesh.port)), mesh.logTail());
        }
    }

    @Test
    void everyWorkerServesSomeOf200SequentialNewConnections() throws Exception {
        Map<String, Integer> perWorker = new TreeMap<>();
        for (int i = 0; i < 200; i++) {
            // a new TCP connection per request, closed by us: each one goes through accept()
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write(("GET /v1/echo?msg=n" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String body = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(body.startsWith("HTTP/1.1 200"), body);
                JsonNode json = Mesh.JSON.readTree(body.substring(body.indexOf("\r\n\r\n") + 4));
                assertEquals("n" + i, json.get("msg").asText());
                perWorker.merge(json.get("worker").asText(), 1, Integer::sum);
            }
        }
        assertEquals(Set.of("worker-1", "worker-2"), perWorker.keySet(), "connections per worker: " + perWorker);
    }

    @Test
    void http11AndH2cOnTheMeshPort() throws Exception {
        HttpResponse<String> h1 = mesh.get(mesh.port, "/v1/echo?msg=hello%20mesh");
        assertEquals(200, h1.statusCode());
        assertEquals(HttpClient.Version.HTTP_1_1, h1.version());
        assertEquals("hello mesh", Mesh.JSON.readTree(h1.body()).get("msg").asText());
        assertTrue(Mesh.JSON.readTree(h1.body()).get("worker").asText().startsWith("worker-"));

        try (HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build()) {
            HttpResponse<String> r = h2.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mesh.port + "/v1/echo?msg=h2c")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals(HttpClient.Version.HTTP_2, r.version(), "upgraded to h2c");
            assertEquals("h2c", Mesh.JSON.readTree(r.body()).get("msg").asText());
        }

        // h2c with prior knowledge, as gRPC clients speak it: a raw preface must be accepted
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
            byte[] frameHeader = s.getInputStream().readNBytes(9);
            assertEquals(9, frameHeader.length);
            assertEquals(4, frameHeader[3], "server answers the preface with a SETTINGS frame");
        }
    }

    @Test
    void grpcEchoHealthAndReflectionOnTheSamePort() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext().build();
        try {
            Set<String> workers = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                EchoReply reply = DemoGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .echo(EchoRequest.newBuilder().setPayload(ByteString.copyFromUtf8("ping" + i)).build());
                assertEquals("ping" + i, reply.getPayload().toStringUtf8());
                workers.add(reply.getWorkerId());
            }
            assertTrue(workers.stream().allMatch(w -> w.startsWith("worker-")), workers.toString());

            HealthCheckResponse health = HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());

            CompletableFuture<Set<String>> services = new CompletableFuture<>();
            StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .serverReflectionInfo(new StreamObserver<>() {
                        @Override
                        public void onNext(ServerReflectionResponse response) {
                            Set<String> names = new HashSet<>();
                            for (ServiceResponse s : response.getListServicesResponse().getServiceList()) {
                                names.add(s.getName());
                            }
                            services.complete(names);
                        }

                        @Override
                        public void onError(Throwable t) {
                            services.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
            Set<String> names = services.get(10, TimeUnit.SECONDS);
            requests.onCompleted();
            assertTrue(names.contains("shmesh.demo.v1.Demo"), names.toString());
            assertTrue(names.contains("grpc.health.v1.Health"), names.toString());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void statusReportsListenersWorkersAndTheirHeldFds() throws Exception {
        JsonNode status = mesh.awaitStatus("worker health reports",
                s -> Mesh.edges(s).stream().allMatch(w -> w.has("health")), Duration.ofSeconds(10));
        assertEquals("127.0.0.1:" + mesh.port, status.get("listeners").get(0).get("address").asText());
        assertEquals(2, Mesh.edges(status).size());
        for (JsonNode w : Mesh.edges(status)) {
            assertEquals("ready", w.get("state").asText());
            assertTrue(w.get("health").get("pid").asLong() > 0, w.toString());
            assertTrue(w.get("health").get("fds").has("http"), w.toString());
            assertTrue(w.has("restarts") && w.has("uptime"), w.toString());
        }
        assertEquals("sandbox", status.get("isolation").get("mode").asText(), "workers are sandboxed by default");
        assertEquals(2, status.get("gateway").get("sandbox").get("seccomp").asInt(), "the gateway arms its own filter");
        HttpResponse<String> metrics = mesh.get(mesh.adminPort, "/metrics");
        assertEquals(200, metrics.statusCode());
        // two edge workers, the broker and one compute worker
        assertTrue(metrics.body().contains("shmesh_workers{state=\"ready\"} 4.0"), metrics.body());
        HttpResponse<String> health = mesh.get(mesh.adminPort, "/health/ready");
        assertEquals(200, health.statusCode(), health.body());

        HttpResponse<String> text = mesh.get(mesh.adminPort, "/status?format=text");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new java.io.ByteArrayInputStream(text.body().getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8))) {
            assertTrue(r.lines().anyMatch(l -> l.startsWith("worker-1") && l.contains("ready")), text.body());
        }
    }
}
