package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shmesh.examples.api.v1.Entry;
import dev.shmesh.examples.api.v1.GreetRequest;
import dev.shmesh.examples.api.v1.GreeterGrpc;
import dev.shmesh.examples.api.v1.Greeting;
import dev.shmesh.examples.api.v1.LedgerGrpc;
import dev.shmesh.examples.api.v1.Quote;
import dev.shmesh.examples.api.v1.QuoteRequest;
import dev.shmesh.examples.api.v1.QuotesGrpc;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Services a user brings, run from a mesh file: the generic edge routes {@code shmesh.example.v1.Quotes} by its gRPC
 * service name to a replica of {@code quotes} over shared memory, and {@code quotes} calls {@code ledger} (internal:
 * no network, not routed) with an ordinary stub over shared memory — three processes per call.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ServicesMeshTest {
    static final Path QUOTES_JAR = Mesh.ROOT.resolve("examples/quotes/target/quotes.jar");
    static final Path LEDGER_JAR = Mesh.ROOT.resolve("examples/ledger/target/ledger.jar");
    static final Path GREETER_JAR = Mesh.ROOT.resolve("examples/greeter/target/quarkus-app/quarkus-run.jar");

    /**
     * A mesh file for the example services on {@code port}: 1 edge, 2 quotes replicas (plain grpc-java), 1 greeter
     * (a stock Quarkus gRPC app), 1 ledger (internal).
     */
    static Path meshFile(int port) throws IOException {
        return writeMeshFile("""
                listeners:
                  - name: public
                    address: 127.0.0.1
                    port: %d
                edge:
                  replicas: 1
                services:
                  - name: quotes
                    artifact: %s
                    replicas: 2
                    exposure: public
                    grpc: [shmesh.example.v1.Quotes]
                    calls: [ledger, greeter]
                    resources:
                      heap: 64m
                  - name: greeter
                    artifact: %s
                    exposure: public
                    grpc: [shmesh.example.v1.Greeter]
                    calls: [ledger]
                    resources:
                      heap: 96m
                  - name: ledger
                    artifact: %s
                    exposure: internal
                    grpc: [shmesh.example.v1.Ledger]
                    resources:
                      heap: 64m
                """.formatted(port, QUOTES_JAR, GREETER_JAR, LEDGER_JAR));
    }

    /**
     * Writes {@code yaml} as shmesh.yaml in a new directory, readable by all: a gateway started as root reads it
     * again once it has dropped to its unprivileged user.
     */
    static Path writeMeshFile(String yaml) throws IOException {
        Path dir = Files.createTempDirectory("shmesh-test-meshfile");
        Path file = dir.resolve("shmesh.yaml");
        Files.writeString(file, yaml);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        return file;
    }

    static Mesh startServices() throws IOException {
        int port = Mesh.freePort();
        return Mesh.start(List.of(), port, Files.createTempDirectory("shmesh-test-run"), 1,
                "-f", meshFile(port).toString()).awaitReady(1);
    }

    @Test
    void theEdgeRoutesACallByServiceNameToAServiceThatCallsAnInternalOneOverSharedMemory() throws Exception {
        try (Mesh mesh = startServices()) {
            JsonNode status = mesh.status();
            assertEquals(5, status.get("workers").size(), "1 edge + 2 quotes + 1 greeter + 1 ledger: " + status);
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext().build();
            try {
                QuotesGrpc.QuotesBlockingStub quotes = QuotesGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(10, TimeUnit.SECONDS);
                Set<String> servedBy = new HashSet<>();
                long lastEntry = 0;
                for (int i = 0; i < 8; i++) {
                    Quote q = quotes.get(QuoteRequest.newBuilder().setTopic("t" + i).build());
                    assertTrue(q.getServedBy().startsWith("quotes-"), q.toString());
                    assertEquals("ledger-1", q.getRecordedBy(), q.toString());
                    assertEquals("edge/worker-1", q.getCaller(), "the mesh attests who called: " + q);
                    assertEquals("quotes/" + q.getServedBy(), q.getGreeterSaw(), "quotes called greeter: " + q);
                    assertTrue(q.getGreeting().startsWith("Hello, t" + i), q.toString());
                    assertTrue(q.getEntry() > lastEntry, "the ledger numbers every quote: " + q);
                    lastEntry = q.getEntry();
                    servedBy.add(q.getServedBy());
                }
                assertEquals(Set.of("quotes-1", "quotes-2"), servedBy, "round-robin over both replicas");

                // a stock Quarkus gRPC app, served on shared memory, its @GrpcClient calling the ledger the same way
                GreeterGrpc.GreeterBlockingStub greeter = GreeterGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(10, TimeUnit.SECONDS);
                Greeting hello = greeter.greet(GreetRequest.newBuilder().setName("you").build());
                assertEquals("Hello, you!", hello.getText());
                assertEquals("greeter-1", hello.getServedBy());
                assertEquals("edge/worker-1", hello.getCaller(), "its Quarkus interceptor sees the attested caller");
                assertTrue(hello.getEntry() > lastEntry, "recorded by the ledger through its @GrpcClient: " + hello);
                List<Greeting> many = new ArrayList<>();
                greeter.greetMany(GreetRequest.newBuilder().setName("s").setCount(20).build())
                        .forEachRemaining(many::add);
                assertEquals(20, many.size());

                // server streaming through the edge, each message recorded by the ledger on the way
                Iterator<Quote> stream = quotes.stream(QuoteRequest.newBuilder().setTopic("s").setCount(50).build());
                List<Quote> streamed = new ArrayList<>();
                stream.forEachRemaining(streamed::add);
                assertEquals(50, streamed.size());
                assertEquals(1, streamed.stream().map(Quote::getServedBy).distinct().count(), "one call, one replica");

                // the service's own status passes through the edge: code and message
                StatusRuntimeException tooMany = assertThrows(StatusRuntimeException.class, () ->
                        quotes.stream(QuoteRequest.newBuilder().setCount(1_000_000).build()).hasNext());
                assertEquals(Status.Code.INVALID_ARGUMENT, tooMany.getStatus().getCode());
                assertTrue(tooMany.getStatus().getDescription().contains("more than 10000"), tooMany.toString());

                // an internal service is not routed: the edge does not know it
                StatusRuntimeException internal = assertThrows(StatusRuntimeException.class, () ->
                        LedgerGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                                .record(Entry.newBuilder().setText("x").build()));
                assertEquals(Status.Code.UNIMPLEMENTED, internal.getStatus().getCode(), internal.toString());

                // the client's deadline reaches the service: an already-tiny deadline fails as DEADLINE_EXCEEDED
                StatusRuntimeException late = assertThrows(StatusRuntimeException.class, () ->
                        QuotesGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.MICROSECONDS)
                                .get(QuoteRequest.getDefaultInstance()));
                assertEquals(Status.Code.DEADLINE_EXCEEDED, late.getStatus().getCode());

                // metadata reaches the service and back (binary headers too): the call works with it
                Metadata extra = new Metadata();
                extra.put(Metadata.Key.of("x-trace-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[] {0, 1, 2, (byte) 255});
                extra.put(Metadata.Key.of("x-tenant", Metadata.ASCII_STRING_MARSHALLER), "acme");
                Quote withMetadata = quotes.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra))
                        .get(QuoteRequest.newBuilder().setTopic("m").build());
                assertNotEquals(0, withMetadata.getEntry());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            JsonNode after = mesh.status();
            JsonNode ledger = mesh.worker(after, "ledger-1");
            assertEquals("service", ledger.get("role").asText());
            assertEquals("ledger", ledger.get("service").asText());
        }
    }

    @Test
    void aReplicaKilledUnderLoadFailsOnlyItsOwnCallsAndWithNoReplicaLeftCallsFailAtOnce() throws Exception {
        try (Mesh mesh = startServices()) {
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext().build();
            try {
                QuotesGrpc.QuotesBlockingStub quotes = QuotesGrpc.newBlockingStub(channel);
                quotes.withDeadlineAfter(10, TimeUnit.SECONDS).get(QuoteRequest.getDefaultInstance());
                long victim = mesh.worker(mesh.status(), "quotes-1").get("pid").asLong();
                int ok = 0;
                int unavailable = 0;
                long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                boolean killed = false;
                while (System.nanoTime() < deadline) {
                    if (!killed && ok >= 20) {
                        ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
                        killed = true;
                    }
                    try {
                        quotes.withDeadlineAfter(10, TimeUnit.SECONDS).get(QuoteRequest.getDefaultInstance());
                        ok++;
                    } catch (StatusRuntimeException e) {
                        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
                        unavailable++;
                    }
                }
                assertTrue(killed, "the load ran long enough to kill a replica");
                assertTrue(unavailable <= 1, "at most the one call in flight on the killed replica fails, not "
                        + unavailable + " (" + ok + " succeeded)");
                // the supervisor restarts it, and the edge reaches it again
                mesh.awaitStatus("quotes-1 restarted and ready", s -> mesh.worker(s, "quotes-1").get("restarts")
                        .asInt() >= 1 && mesh.worker(s, "quotes-1").get("state").asText().equals("ready"),
                        Duration.ofSeconds(60));
                Set<String> servedBy = new HashSet<>();
                long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (servedBy.size() < 2 && System.nanoTime() < until) {
                    servedBy.add(quotes.withDeadlineAfter(10, TimeUnit.SECONDS).get(QuoteRequest.getDefaultInstance())
                            .getServedBy());
                }
                assertEquals(Set.of("quotes-1", "quotes-2"), servedBy, "the restarted replica serves again");

                // no live replica at all: the edge's health says so, and a call fails with UNAVAILABLE at once
                // (a call that waited for a replica would end in DEADLINE_EXCEEDED)
                HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
                HealthCheckRequest quotesHealth = HealthCheckRequest.newBuilder()
                        .setService("shmesh.example.v1.Quotes").build();
                assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                        health.withDeadlineAfter(5, TimeUnit.SECONDS).check(quotesHealth).getStatus());
                JsonNode before = mesh.status();
                for (String id : List.of("quotes-1", "quotes-2")) {
                    ProcessHandle.of(mesh.worker(before, id).get("pid").asLong()).ifPresent(ProcessHandle::destroyForcibly);
                }
                long until2 = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                HealthCheckResponse.ServingStatus seen = HealthCheckResponse.ServingStatus.SERVING;
                while (seen != HealthCheckResponse.ServingStatus.NOT_SERVING && System.nanoTime() < until2) {
                    seen = health.withDeadlineAfter(5, TimeUnit.SECONDS).check(quotesHealth).getStatus();
                }
                assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, seen, "health follows the replicas");
                StatusRuntimeException none = assertThrows(StatusRuntimeException.class, () ->
                        quotes.withDeadlineAfter(5, TimeUnit.SECONDS).get(QuoteRequest.getDefaultInstance()));
                assertEquals(Status.Code.UNAVAILABLE, none.getStatus().getCode(), none.toString());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aMalformedMeshFileIsRefusedWithItsLineAndColumnBeforeAnythingStarts() throws Exception {
        int port = Mesh.freePort();
        Path file = writeMeshFile("""
                services:
                  - name: quotes
                    artifact: %s
                    exposure: publik
                """.formatted(QUOTES_JAR));
        Path log = Files.createTempFile("shmesh-badmesh", ".log");
        Process gateway = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Mesh.JVM_OPTIONS, "-Dshmesh.worker.jar=" + Mesh.WORKER_JAR, "-jar", Mesh.GATEWAY_JAR.toString(),
                "--admin-port", Integer.toString(Mesh.freePort()), "--port", Integer.toString(port),
                "--run-dir", Files.createTempDirectory("shmesh-test-run").toString(), "-f", file.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(gateway.waitFor(60, TimeUnit.SECONDS), "the gateway stops by itself");
            String out = Files.readString(log);
            assertNotEquals(0, gateway.exitValue(), out);
            assertTrue(out.contains(file + ":4:15: services[0].exposure: 'publik' is not one of: public, internal"),
                    "the file, line and column, and what is wrong: " + out);
            assertFalse(out.contains("spawned"), "nothing was started: " + out);
            try (java.net.Socket s = new java.net.Socket()) {
                assertThrows(IOException.class, () -> s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000),
                        "nothing listens on the mesh port");
            }
        } finally {
            gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
