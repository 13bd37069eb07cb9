package dev.shmesh.grpc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ClientCalls;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transport behaviour beyond the interop cases, in the spirit of grpc-java's AbstractTransportTest: other processes,
 * peer death, back pressure, limits, identity, replicas. Servers and clients in child JVMs are real processes
 * talking over real shared memory; every one is SIGKILLed and reaped after each test.
 */
@Timeout(120)
class ShmTransportTest {
    @TempDir
    Path dir;

    private final Children children = new Children();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<Server> servers = new ArrayList<>();

    @BeforeEach
    void cleanState() {
        channels.clear();
        servers.clear();
    }

    @AfterEach
    void stopAll() throws Exception {
        for (ManagedChannel c : channels) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        children.close();
    }

    private ManagedChannel channel(Path socket) {
        ManagedChannel c = ShmChannelBuilder.forAddress(new ShmAddress(socket)).build();
        channels.add(c);
        return c;
    }

    private Server server(ShmServerBuilder builder) throws Exception {
        Server s = builder.build().start();
        servers.add(s);
        return s;
    }

    private static byte[] echo(ManagedChannel ch, byte[] request) {
        return ClientCalls.blockingUnaryCall(ch, TestService.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30,
                TimeUnit.SECONDS), request);
    }

    private static String echo(ManagedChannel ch, String request) {
        return new String(echo(ch, request.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    /** Starts a call and completes the future with its status when it closes. */
    private static CompletableFuture<Status> open(ManagedChannel ch, io.grpc.MethodDescriptor<byte[], byte[]> method,
            byte[] request, int initialRequest, List<byte[]> received, CountDownLatch firstMessage) {
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = ch.newCall(method, CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                received.add(message);
                firstMessage.countDown();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(request);
        call.halfClose();
        call.request(initialRequest);
        return closed;
    }

    @Test
    void aServerInAnotherProcessAnswersAndItsDeathFailsOnlyItsOwnCallsWithUnavailable() throws Exception {
        Path a = dir.resolve("a.sock");
        Path b = dir.resolve("b.sock");
        Process serverA = children.start(TestServerMain.class, "READY", a.toString(), "replica-a");
        children.start(TestServerMain.class, "READY", b.toString(), "replica-b");
        ManagedChannel toA = channel(a);
        ManagedChannel toB = channel(b);
        assertEquals("replica-a:hi", echo(toA, "hi"));
        assertEquals("replica-b:hi", echo(toB, "hi"));

        List<byte[]> got = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch holding = new CountDownLatch(1);
        CompletableFuture<Status> hold = open(toA, TestService.HOLD, new byte[0], 10, got, holding);
        assertTrue(holding.await(30, TimeUnit.SECONDS), "the Hold call is open in the server process");

        long killed = System.nanoTime();
        serverA.destroyForcibly(); // SIGKILL
        Status status = hold.get(30, TimeUnit.SECONDS);
        long micros = (System.nanoTime() - killed) / 1000;
        System.out.printf("open call failed %d us after SIGKILL of its server: %s%n", micros, status);
        assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("is gone"), status.toString());
        assertEquals("replica-b:still", echo(toB, "still"), "the other server's connection is untouched");
    }

    @Test
    void aKilledClientProcessCancelsItsCallsOnTheServer() throws Exception {
        Path socket = dir.resolve("s.sock");
        TestService service = new TestService("in-test");
        server(ShmServerBuilder.forPath(socket).addService(service.definition()));
        Process client = children.start(TestClientMain.class, "HOLDING", socket.toString());
        assertTrue(service.holdStarted.await(30, TimeUnit.SECONDS));
        assertEquals(0, service.holdsCancelled.get());
        client.destroyForcibly();
        assertTrue(service.holdCancelled.await(30, TimeUnit.SECONDS), "the server call is cancelled");
        assertEquals("in-test:after", echo(channel(socket), "after"), "the server takes new connections");
    }

    @Test
    void theServerSeesTheCallersAttestedIdentityAndAuthorisesByService() throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        TestService service = new TestService("svc");
        AtomicInteger seenPidMatches = new AtomicInteger();
        io.grpc.ServerInterceptor recordPeer = new io.grpc.ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata h,
                    io.grpc.ServerCallHandler<Q, R> next) {
                PeerIdentity peer = call.getAttributes().get(ShmGrpc.PEER_IDENTITY);
                if (peer != null && peer.pid() == ProcessHandle.current().pid() && peer.uid() == uid
                        && "frontend".equals(peer.service())) {
                    seenPidMatches.incrementAndGet();
                }
                return next.startCall(call, h);
            }
        };
        Path allowed = dir.resolve("allowed.sock");
        server(ShmServerBuilder.forPath(allowed).attestor(PeerAttestor.byUid(Map.of(uid, "frontend")))
                .addService(ServerInterceptors.intercept(service.definition(), CallerAuthorization.allow("frontend"),
                        recordPeer)));
        assertEquals("svc:ok", echo(channel(allowed), "ok"));
        assertEquals(1, seenPidMatches.get(), "pid, uid and service of the caller");

        Path denied = dir.resolve("denied.sock");
        server(ShmServerBuilder.forPath(denied).attestor(PeerAttestor.byUid(Map.of(uid, "frontend")))
                .addService(ServerInterceptors.intercept(service.definition(), CallerAuthorization.allow("billing"))));
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> echo(channel(denied), "no"));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("frontend"), e.getStatus().toString());

        Path unattested = dir.resolve("unattested.sock");
        server(ShmServerBuilder.forPath(unattested)
                .addService(ServerInterceptors.intercept(service.definition(), CallerAuthorization.allow("frontend"))));
        e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> echo(channel(unattested), "no"));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), "a peer the attestor does not know");
    }

    @Test
    void aSlowReaderBackPressuresItsWriterWithoutStallingOtherStreams() throws Exception {
        Path socket = dir.resolve("s.sock");
        TestService service = new TestService("svc");
        int window = 64 << 10;
        int size = 16 << 10;
        int n = 200;
        server(ShmServerBuilder.forPath(socket).streamWindow(window).addService(service.definition()));
        ManagedChannel ch = channel(socket);
        List<byte[]> got = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch first = new CountDownLatch(1);
        ClientCall<byte[], byte[]> call = ch.newCall(TestService.STREAM, CallOptions.DEFAULT);
        CompletableFuture<Status> closed = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                got.add(message);
                first.countDown();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(ByteBuffer.allocate(8).putInt(n).putInt(size).array());
        call.halfClose();
        call.request(1);
        assertTrue(first.await(30, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (service.sentWhenFirstNotReady.get() < 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        int sent = service.sentWhenFirstNotReady.get();
        assertTrue(sent >= window / size && sent <= window / size + 2,
                "the writer stopped at its window: " + sent + " messages of " + size + " bytes, window " + window);
        assertEquals(1, got.size(), "the reader got only what it asked for");
        assertEquals("svc:meanwhile", echo(ch, "meanwhile"), "another stream on the same connection still flows");

        call.request(n);
        assertEquals(Status.Code.OK, closed.get(30, TimeUnit.SECONDS).getCode());
        assertEquals(n, got.size(), "every message arrived once the reader asked");
    }

    @Test
    void messagesOfFourMebibytesAndMoreCrossInPiecesAndTheLimitIsEnforced() throws Exception {
        Path socket = dir.resolve("s.sock");
        server(ShmServerBuilder.forPath(socket).maxInboundMessageSize(64 << 20)
                .addService(new TestService("r").definition()));
        ManagedChannel big = ShmChannelBuilder.forAddress(new ShmAddress(socket)).maxInboundMessageSize(64 << 20).build();
        channels.add(big);
        Random random = new Random(42);
        for (int size : new int[] {4 << 20, 9 << 20}) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            byte[] answer = echo(big, payload);
            assertEquals(size + 2, answer.length);
            assertArrayEquals(payload, java.util.Arrays.copyOfRange(answer, 2, answer.length), "bytes intact at " + size);
        }
        // the default channel limit is grpc-java's 4 MiB: a larger answer is refused, the connection goes on
        ManagedChannel small = channel(socket);
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> echo(small, new byte[5 << 20]));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals("r:after", echo(small, "after"));
    }

    @Test
    void metadataLargerThanTheLimitFailsThatCallOnly() throws Exception {
        Path socket = dir.resolve("s.sock");
        server(ShmServerBuilder.forPath(socket).addService(new TestService("r").definition()));
        ManagedChannel ch = channel(socket);
        Metadata huge = new Metadata();
        huge.put(Metadata.Key.of("x-huge-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[100_000]);
        io.grpc.Channel withHuge = io.grpc.ClientInterceptors.intercept(ch,
                io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(huge));
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(withHuge, TestService.ECHO, CallOptions.DEFAULT
                        .withDeadlineAfter(30, TimeUnit.SECONDS), new byte[1]));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals("r:fine", echo(ch, "fine"), "the connection goes on");
    }

    @Test
    void cancellationAndDeadlinesReachTheServerProcess() throws Exception {
        Path socket = dir.resolve("s.sock");
        TestService service = new TestService("r");
        server(ShmServerBuilder.forPath(socket).addService(service.definition()));
        ManagedChannel ch = channel(socket);
        ClientCalls.blockingUnaryCall(ch, TestService.ECHO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
                new byte[0]);
        assertNotNull(service.lastDeadline, "the server call has the client's deadline");
        long left = service.lastDeadline.timeRemaining(TimeUnit.SECONDS);
        assertTrue(left > 5 && left <= 20, "deadline left on the server: " + left + " s");

        ClientCall<byte[], byte[]> call = ch.newCall(TestService.HOLD, CallOptions.DEFAULT);
        CompletableFuture<Status> closed = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(new byte[0]);
        call.halfClose();
        call.request(1);
        assertTrue(service.holdStarted.await(30, TimeUnit.SECONDS));
        call.cancel("the test cancels", null);
        assertEquals(Status.Code.CANCELLED, closed.get(30, TimeUnit.SECONDS).getCode());
        assertTrue(service.holdCancelled.await(30, TimeUnit.SECONDS), "the server's Context was cancelled");

        // a deadline that passes on the client cancels the server call too
        TestService second = new TestService("r2");
        Path socket2 = dir.resolve("s2.sock");
        server(ShmServerBuilder.forPath(socket2).addService(second.definition()));
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, () -> {
            var it = ClientCalls.blockingServerStreamingCall(channel(socket2), TestService.HOLD,
                    CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS), new byte[0]);
            while (it.hasNext()) {
                it.next();
            }
        });
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        assertTrue(second.holdCancelled.await(30, TimeUnit.SECONDS), "the server call ended with the deadline");
    }

    @Test
    void roundRobinSpreadsCallsOverReplicasAndRetriesMoveOffAKilledOne() throws Exception {
        Path svc = dir.resolve("catalog");
        Files.createDirectories(svc);
        Process r1 = children.start(TestServerMain.class, "READY", svc.resolve("r1.sock").toString(), "r1");
        children.start(TestServerMain.class, "READY", svc.resolve("r2.sock").toString(), "r2");
        Map<String, Object> retry = Map.of("methodConfig", List.of(Map.of(
                "name", List.of(Map.of("service", "shmesh.test.Test")),
                "retryPolicy", Map.of("maxAttempts", 5.0, "initialBackoff", "0.01s", "maxBackoff", "0.1s",
                        "backoffMultiplier", 2.0, "retryableStatusCodes", List.of("UNAVAILABLE")))));
        ManagedChannel ch = ShmChannelBuilder.forTarget("shm:///catalog").directory(dir)
                .defaultServiceConfig(retry).enableRetry().build();
        channels.add(ch);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            seen.add(echo(ch, "x").split(":")[0]);
        }
        assertEquals(Set.of("r1", "r2"), seen, "calls are spread over both replicas");

        r1.destroyForcibly();
        r1.waitFor(10, TimeUnit.SECONDS);
        for (int i = 0; i < 20; i++) {
            assertEquals("r2:y", echo(ch, "y"), "call " + i + " after r1's death goes to the live replica");
        }
    }

    @Test
    void shutdownLetsCallsInFlightFinishAndRefusesNewOnes() throws Exception {
        Path socket = dir.resolve("s.sock");
        TestService service = new TestService("r");
        Server server = server(ShmServerBuilder.forPath(socket).addService(service.definition()));
        ManagedChannel ch = channel(socket);
        List<byte[]> got = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch holding = new CountDownLatch(1);
        CompletableFuture<Status> hold = open(ch, TestService.HOLD, new byte[0], 10, got, holding);
        assertTrue(holding.await(30, TimeUnit.SECONDS));
        server.shutdown();
        assertTrue(server.isShutdown());
        assertTrue(!hold.isDone(), "the call in flight goes on after shutdown()");
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> echo(ch, "new"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        server.shutdownNow();
        Status s = hold.get(30, TimeUnit.SECONDS);
        assertTrue(s.getCode() == Status.Code.CANCELLED || s.getCode() == Status.Code.UNAVAILABLE, s.toString());
        assertTrue(server.awaitTermination(30, TimeUnit.SECONDS));
        assertTrue(!Files.exists(socket), "the rendezvous socket is removed");
    }

    @Test
    void callsStartedFromManyThreadsAtOnceShareOneConnection() throws Exception {
        Path socket = dir.resolve("s.sock");
        server(ShmServerBuilder.forPath(socket).addService(new TestService("r").definition()));
        ManagedChannel ch = channel(socket);
        assertEquals("r:warm", echo(ch, "warm"));
        int threads = 16;
        int calls = 300;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Integer>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            done.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                }
                int ok = 0;
                for (int i = 0; i < calls; i++) {
                    String m = thread + "/" + i;
                    if (("r:" + m).equals(echo(ch, m))) {
                        ok++;
                    }
                }
                return ok;
            }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
        }
        go.countDown();
        for (CompletableFuture<Integer> f : done) {
            assertEquals(calls, f.get(60, TimeUnit.SECONDS), "every call of every thread answered, in order per thread");
        }
    }

    @Test
    void theServersStreamLimitRefusesTheCallBeyondItAndAdmitsOnceOneEnds() throws Exception {
        Path socket = dir.resolve("s.sock");
        TestService service = new TestService("r");
        server(ShmServerBuilder.forPath(socket).maxConcurrentCallsPerConnection(1).addService(service.definition()));
        ManagedChannel ch = channel(socket);
        List<byte[]> got = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch holding = new CountDownLatch(1);
        ClientCall<byte[], byte[]> hold = ch.newCall(TestService.HOLD, CallOptions.DEFAULT);
        CompletableFuture<Status> held = new CompletableFuture<>();
        hold.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                got.add(message);
                holding.countDown();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                held.complete(status);
            }
        }, new Metadata());
        hold.sendMessage(new byte[0]);
        hold.halfClose();
        hold.request(1);
        assertTrue(holding.await(30, TimeUnit.SECONDS));
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> echo(ch, "second"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains("1 concurrent streams"), e.getStatus().toString());
        hold.cancel("done holding", null);
        assertEquals(Status.Code.CANCELLED, held.get(30, TimeUnit.SECONDS).getCode());
        assertEquals("r:third", echo(ch, "third"), "a stream is free again");
    }

    @Test
    void aNewCallIsToldItIsReadySoACallerThatWaitsForOnReadyBeforeSendingGetsAnswered() throws Exception {
        Path socket = dir.resolve("s.sock");
        server(ShmServerBuilder.forPath(socket).addService(new TestService("r").definition()));
        // a fresh channel: the call starts before its transport exists (buffered), as a proxy's first call does
        ManagedChannel ch = channel(socket);
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        // a method type that may send more than one message: grpc-java tells only those onReady
        ClientCall<byte[], byte[]> call = ch.newCall(TestService.method("Echo", io.grpc.MethodDescriptor.MethodType.UNKNOWN),
                CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
        AtomicInteger readies = new AtomicInteger();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onReady() {
                if (readies.getAndIncrement() == 0) {
                    call.sendMessage("waited".getBytes(StandardCharsets.UTF_8));
                    call.halfClose();
                }
            }

            @Override
            public void onMessage(byte[] message) {
                answer.complete(message);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                answer.completeExceptionally(status.asRuntimeException());
            }
        }, new Metadata());
        call.request(1);
        assertEquals("r:waited", new String(answer.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    }

    @Test
    void pickFirstSendsEveryCallToOneReplica() throws Exception {
        Path svc = dir.resolve("catalog");
        Files.createDirectories(svc);
        server(ShmServerBuilder.forPath(svc.resolve("a.sock")).addService(new TestService("a").definition()));
        server(ShmServerBuilder.forPath(svc.resolve("b.sock")).addService(new TestService("b").definition()));
        ManagedChannel ch = ShmChannelBuilder.forTarget("shm:///catalog").directory(dir)
                .defaultLoadBalancingPolicy("pick_first").build();
        channels.add(ch);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            seen.add(echo(ch, "x").split(":")[0]);
        }
        assertEquals(1, seen.size(), "one replica takes every call: " + seen);
    }

    @Test
    void theStandardHealthServiceAnswersOverSharedMemory() throws Exception {
        Path socket = dir.resolve("s.sock");
        HealthStatusManager health = new HealthStatusManager();
        health.setStatus("shmesh.test.Test", HealthCheckResponse.ServingStatus.SERVING);
        server(ShmServerBuilder.forPath(socket).addService(health.getHealthService())
                .addService(new TestService("r").definition()));
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel(socket))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                stub.check(HealthCheckRequest.newBuilder().setService("shmesh.test.Test").build()).getStatus());
        health.setStatus("shmesh.test.Test", HealthCheckResponse.ServingStatus.NOT_SERVING);
        assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING,
                stub.check(HealthCheckRequest.newBuilder().setService("shmesh.test.Test").build()).getStatus());
    }
}
