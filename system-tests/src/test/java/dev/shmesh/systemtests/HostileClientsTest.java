package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.EchoRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Slow and hostile clients at the edge (docs/limits.md): each limit of the workers' HTTP server refuses with a clear
 * status, the worker does not buffer what it refuses, other clients are served meanwhile, and after each test both
 * edge workers are still the ones that started, ready, and serve a normal request. The limits are the shipped
 * defaults (worker/src/main/resources/application.properties), except the idle timeout: 15 s here instead of 60 s.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HostileClientsTest {
    /** shmesh.http.header-timeout's default. */
    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** Longer than the header deadline (so a slowloris meets the deadline first), shorter than the default 60 s. */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(15);
    private static final int MAX_CONCURRENT_STREAMS = 100;
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    private static Mesh mesh;
    private static Map<String, Long> edgePids;

    @BeforeAll
    static void startMesh() throws Exception {
        mesh = Mesh.start(2, "-Dshmesh.worker.jvm-args=-Dquarkus.http.idle-timeout=" + IDLE_TIMEOUT.toSeconds() + "s")
                .awaitReady(2);
        edgePids = edgePids(mesh.status());
    }

    @AfterAll
    static void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    /** After each attack: the same two edge workers, ready, and a normal request is served. */
    @AfterEach
    void theMeshStillServesANormalRequest() throws Exception {
        JsonNode status = mesh.status();
        assertEquals(edgePids, edgePids(status), "no edge worker died or was replaced");
        assertEquals(status.get("workers").size(), Mesh.countState(status, "ready"), status.toString());
        assertEquals("HTTP/1.1 200", statusLine(exchange("GET /v1/echo?msg=after HTTP/1.1\r\nHost: mesh\r\n"
                + "Connection: close\r\n\r\n")));
    }

    /*
     * Slowloris: clients that send a request's header bytes one at a time never finish their headers. Each is
     * answered 408 and closed while it is still sending (the idle timeout, which is longer, would close it without an
     * answer), and normal requests are served all along.
     */
    @Test
    void slowlorisClientsAreAnswered408AtTheHeaderDeadlineWhileOthersAreServed() throws Exception {
        int slow = 16;
        byte[] endless = ("GET /v1/echo?msg=slow HTTP/1.1\r\nHost: mesh\r\nX-Slow: " + "a".repeat(4000))
                .getBytes(StandardCharsets.US_ASCII); // no blank line: never complete
        AtomicBoolean slowOnesDone = new AtomicBoolean();
        List<CompletableFuture<Drip>> drips = new ArrayList<>();
        for (int i = 0; i < slow; i++) {
            drips.add(CompletableFuture.supplyAsync(() -> drip(endless, 500), Thread::startVirtualThread));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(drips.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> slowOnesDone.set(true));
        int served = 0;
        while (!slowOnesDone.get()) {
            String response = exchange("GET /v1/echo?msg=meanwhile HTTP/1.1\r\nHost: mesh\r\nConnection: close\r\n\r\n");
            assertEquals("HTTP/1.1 200", statusLine(response), response);
            served++;
            Mesh.sleep(200); // the pace of the normal client
        }
        all.get(); // rethrows a drip's failure
        for (CompletableFuture<Drip> d : drips) {
            Drip drip = d.get();
            assertEquals("HTTP/1.1 408", statusLine(drip.response()), drip.toString());
            assertTrue(drip.response().toLowerCase().contains("connection: close"), drip.toString());
            assertTrue(drip.closedWhileSending(), "the server closed the connection: " + drip);
            assertTrue(drip.sent() < endless.length, "the headers never completed: " + drip);
        }
        assertTrue(served > 0, "normal requests were served while " + slow + " slow clients were connected");
        System.out.printf("slowloris: %d slow clients answered 408 after %s bytes each, %d normal requests served "
                + "meanwhile%n", slow, drips.stream().map(d -> d.join().sent()).toList(), served);
    }

    /* The same on a kept-alive connection: the clock starts again at the first byte of the next request. */
    @Test
    void aKeptAliveConnectionDrippingItsNextRequestIsAnswered408() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout((int) HEADER_TIMEOUT.multipliedBy(3).toMillis());
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("GET /v1/echo?msg=first HTTP/1.1\r\nHost: mesh\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String first = readResponseHead(in);
            assertEquals("HTTP/1.1 200", statusLine(first), first);
            skipBody(in, first);
            byte[] next = ("GET /v1/echo?msg=second HTTP/1.1\r\nHost: mesh\r\nX-Slow: " + "a".repeat(200))
                    .getBytes(StandardCharsets.US_ASCII);
            Drip drip = drip(s, next, 500);
            assertEquals("HTTP/1.1 408", statusLine(drip.response()), drip.toString());
            assertTrue(drip.closedWhileSending() && drip.sent() < next.length, drip.toString());
        }
    }

    /*
     * A body may come slowly: the deadline is for headers only. Body bytes one every 500 ms, longer in all than the
     * header deadline, and the digest is answered.
     */
    @Test
    void aSlowBodyIsNotCutByTheHeaderDeadline() throws Exception {
        int length = (int) (HEADER_TIMEOUT.toMillis() / 500) + 6;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout((int) IDLE_TIMEOUT.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/digest HTTP/1.1\r\nHost: mesh\r\nContent-Length: " + length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (int i = 0; i < length; i++) {
                Mesh.sleep(500); // the slow client's pace
                out.write('b');
                out.flush();
            }
            String head = readResponseHead(s.getInputStream());
            assertEquals("HTTP/1.1 200", statusLine(head), head);
        }
    }

    /* A connection that says nothing after its request is closed at the idle timeout, without an answer. */
    @Test
    void aSilentConnectionIsClosedAtTheIdleTimeout() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout((int) IDLE_TIMEOUT.multipliedBy(3).toMillis());
            s.getOutputStream().write("GET /v1/echo?msg=once HTTP/1.1\r\nHost: mesh\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String head = readResponseHead(in);
            assertEquals("HTTP/1.1 200", statusLine(head), head);
            skipBody(in, head);
            try {
                assertEquals(-1, in.read(), "nothing more, then the end of the stream");
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the worker kept a silent connection open past " + IDLE_TIMEOUT.multipliedBy(3));
            }
        }
    }

    /*
     * A 1 GiB body, streamed from a generator until the answer arrives: 413 long before the body is sent, and neither
     * edge worker's peak RSS grows by anything like it. Declared (Content-Length: the server-wide limit refuses it at
     * the headers) and chunked to the digest route (its body handler's 4 MiB limit refuses it as the bytes come).
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aOneGibBodyIsRefusedWith413BeforeTheWorkerTakesIt(boolean declared) throws Exception {
        Map<String, Long> peakBefore = peakRss();
        String head = "POST /v1/digest HTTP/1.1\r\nHost: mesh\r\n"
                + (declared ? "Content-Length: " + GIB : "Transfer-Encoding: chunked") + "\r\n\r\n";
        long started = System.nanoTime();
        Upload upload = upload(head.getBytes(StandardCharsets.US_ASCII), declared);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        Map<String, Long> peakAfter = peakRss();
        assertEquals("HTTP/1.1 413", statusLine(upload.response()), upload.toString());
        assertTrue(upload.sentBeforeAnswer() < 64 * MIB, "refused early: " + upload);
        for (Map.Entry<String, Long> w : peakAfter.entrySet()) {
            long grew = w.getValue() - peakBefore.get(w.getKey());
            assertTrue(grew < 64 * MIB, w.getKey() + "'s peak RSS grew by " + grew / MIB + " MiB: it buffered the body");
        }
        System.out.printf("1 GiB body (%s): %s after %d MiB sent, in %d ms; edge peak RSS %s -> %s MiB%n",
                declared ? "Content-Length" : "chunked", statusLine(upload.response()), upload.sentBeforeAnswer() / MIB,
                millis, mib(peakBefore), mib(peakAfter));
    }

    /* 100,000 headers: HTTP/1.1 gets 431; HTTP/2 gets a GOAWAY; just over the budget on HTTP/2, a 431 on the stream. */
    @Test
    void aHundredThousandHeadersAreRefusedWith431OrGoAway() throws Exception {
        StringBuilder h1 = new StringBuilder("GET /v1/echo?msg=headers HTTP/1.1\r\nHost: mesh\r\n");
        for (int i = 0; i < 100_000; i++) {
            h1.append("X-H").append(i).append(": v\r\n");
        }
        String response = exchange(h1.append("\r\n").toString());
        assertEquals("HTTP/1.1 431", statusLine(response), response);

        String[] many = new String[200_000];
        for (int i = 0; i < 100_000; i++) {
            many[2 * i] = "x-h" + i;
            many[2 * i + 1] = "v";
        }
        try (RawH2 h2 = new RawH2(mesh.port, true)) {
            try {
                h2.headers(1, RawH2.request("GET", "/v1/echo?msg=headers", many), true);
                h2.flush();
            } catch (IOException closedWhileSending) {
                // the server may close before the last CONTINUATION is written
            }
            RawH2.Frame goAway = h2.readUntilClosed();
            assertNotNull(goAway, "the server says why it closes the connection");
            System.out.printf("h2, 100k headers: GOAWAY code %d '%s'%n", goAway.errorCode(), goAway.goAwayDebug());
        }

        try (RawH2 h2 = new RawH2(mesh.port, true)) {
            h2.headers(1, RawH2.request("GET", "/v1/echo?msg=just-over", "x-big", "a".repeat(17_000)), true);
            h2.flush();
            RawH2.Frame f;
            do {
                f = h2.read();
            } while (f.type() != RawH2.HEADERS);
            assertEquals("431", h2.decode(f).status().toString());
        }
    }

    /*
     * An h2c client opening more streams than SETTINGS_MAX_CONCURRENT_STREAMS: the ones beyond are refused with
     * RST_STREAM(REFUSED_STREAM), the others are served, and a stream opened after one of them closed is served too.
     * With and without acknowledging the server's SETTINGS (the limit holds before the ACK as well).
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void anH2cClientOpeningMoreStreamsThanAllowedHasTheExtraOnesRefused(boolean ackSettings) throws Exception {
        try (RawH2 h2 = new RawH2(mesh.port, ackSettings)) {
            int over = MAX_CONCURRENT_STREAMS + 2;
            for (int i = 0; i < over; i++) {
                // no END_STREAM: each stream stays open (half-closed by the server once it answered)
                h2.headers(1 + 2 * i, RawH2.request("GET", "/v1/echo?msg=s" + i), false);
            }
            h2.flush();
            Map<Integer, String> outcome = new TreeMap<>();
            while (outcome.size() < over) {
                RawH2.Frame f = h2.read();
                if (f.type() == RawH2.HEADERS) {
                    outcome.put(f.stream(), h2.decode(f).status().toString());
                } else if (f.type() == RawH2.RST_STREAM) {
                    outcome.put(f.stream(), "RST " + f.errorCode());
                } else if (f.type() == RawH2.GOAWAY) {
                    throw new AssertionError("GOAWAY " + f.errorCode() + " " + f.goAwayDebug() + " after " + outcome);
                }
            }
            for (int i = 0; i < over; i++) {
                assertEquals(i < MAX_CONCURRENT_STREAMS ? "200" : "RST " + RawH2.REFUSED_STREAM, outcome.get(1 + 2 * i),
                        "stream " + (1 + 2 * i) + " of " + outcome);
            }
            h2.data(1, new byte[0], true); // stream 1 ends: one slot frees
            int late = 1 + 2 * over;
            h2.headers(late, RawH2.request("GET", "/v1/echo?msg=late"), true);
            h2.flush();
            String lateOutcome = null;
            while (lateOutcome == null) {
                RawH2.Frame f = h2.read();
                if (f.type() == RawH2.HEADERS) {
                    Http2Headers headers = h2.decode(f);
                    if (f.stream() == late) {
                        lateOutcome = headers.status().toString();
                    }
                } else if (f.type() == RawH2.RST_STREAM && f.stream() == late) {
                    lateOutcome = "RST " + f.errorCode();
                }
            }
            assertEquals("200", lateOutcome, "a stream within the limit again is served on the same connection");
        }
    }

    /*
     * A gRPC message over quarkus.grpc.server.max-inbound-message-size: RESOURCE_EXHAUSTED from the server (the
     * client takes answers up to 64 MiB, so only the server can refuse), while the largest the demo takes passes on
     * the same channel. A message that declares 1 GiB is refused at its length prefix.
     */
    @Test
    void aGrpcMessageOverTheLimitIsRefusedWithResourceExhausted() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", mesh.port).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        try {
            DemoGrpc.DemoBlockingStub demo = DemoGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> demo.echo(
                    EchoRequest.newBuilder().setPayload(ByteString.copyFrom(new byte[5 << 20])).build()));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
            int largest = 4 << 20; // Digests.MAX_DATA
            assertEquals(largest, demo.echo(EchoRequest.newBuilder()
                    .setPayload(ByteString.copyFrom(new byte[largest])).build()).getPayload().size());
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }

        try (RawH2 h2 = new RawH2(mesh.port, true)) {
            h2.headers(1, RawH2.request("POST", "/shmesh.demo.v1.Demo/Echo", "content-type", "application/grpc",
                    "te", "trailers"), false);
            byte[] prefix = {0, 0x40, 0, 0, 0}; // not compressed, 2^30 bytes follow
            h2.data(1, prefix, false);
            h2.data(1, new byte[4096], false); // a first piece of the gigabyte
            h2.flush();
            String grpcStatus = null;
            while (grpcStatus == null) {
                RawH2.Frame f = h2.read();
                if (f.type() == RawH2.HEADERS) {
                    Http2Headers headers = h2.decode(f);
                    if (headers.contains("grpc-status")) {
                        grpcStatus = headers.get("grpc-status").toString();
                    }
                } else if (f.type() == RawH2.RST_STREAM || f.type() == RawH2.GOAWAY) {
                    throw new AssertionError("frame " + f.type() + " code " + f.errorCode() + " instead of a status");
                }
            }
            assertEquals(Integer.toString(Status.Code.RESOURCE_EXHAUSTED.value()), grpcStatus);
        }
    }

    // --- HTTP/1.1 by hand

    /** What one dripping client saw. */
    private record Drip(int sent, boolean closedWhileSending, String response) {}

    /** Opens a connection and sends {@code bytes} one every {@code everyMillis} until the server answers or closes. */
    private static Drip drip(byte[] bytes, long everyMillis) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            return drip(s, bytes, everyMillis);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Drip drip(Socket s, byte[] bytes, long everyMillis) throws IOException {
        // a liveness bound, three times the deadline under test: the assertions are about what the server said
        s.setSoTimeout(50);
        long giveUp = System.nanoTime() + HEADER_TIMEOUT.multipliedBy(3).toNanos();
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        int sent = 0;
        boolean closed = false;
        while (System.nanoTime() - giveUp < 0 && sent < bytes.length) {
            try {
                out.write(bytes[sent]);
                out.flush();
                sent++;
            } catch (IOException e) {
                closed = true; // EPIPE / ECONNRESET: the server closed it
            }
            try {
                int n = in.read();
                if (n >= 0) {
                    response.write(n);
                    s.setSoTimeout(10_000);
                    response.write(readUntilClosed(in)); // the rest, until the server closes
                }
                closed = true;
            } catch (SocketTimeoutException nothingYet) {
                // the server is still waiting for the headers
            } catch (IOException reset) {
                closed = true;
            }
            if (closed) {
                break;
            }
            Mesh.sleep(everyMillis - 50); // the drip's pace; the read above waited 50 ms
        }
        return new Drip(sent, closed, response.toString(StandardCharsets.US_ASCII));
    }

    /** Sends {@code request} on a new connection and reads until the server closes it. */
    private static String exchange(String request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout(30_000);
            CompletableFuture<byte[]> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return readUntilClosed(s.getInputStream());
                } catch (IOException e) {
                    return ("(no answer: " + e + ")").getBytes(StandardCharsets.US_ASCII);
                }
            }, Thread::startVirtualThread);
            try {
                s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            } catch (IOException closedEarly) {
                // the server answered and closed before it had the whole request (431, 413)
            }
            return new String(answer.join(), StandardCharsets.US_ASCII);
        }
    }

    /** What one upload saw: bytes sent when the answer's head arrived, and the answer. */
    private record Upload(long sentBeforeAnswer, String response) {}

    /**
     * Sends {@code head}, then up to 1 GiB of body from a generator (raw or as 64 KiB chunks), stopping as soon as
     * the response's head has arrived; returns how much had been sent by then.
     */
    private static Upload upload(byte[] head, boolean raw) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), mesh.port)) {
            s.setSoTimeout(60_000);
            AtomicLong sent = new AtomicLong();
            AtomicLong sentAtAnswer = new AtomicLong(-1);
            AtomicBoolean answered = new AtomicBoolean();
            CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    String h = readResponseHead(s.getInputStream());
                    sentAtAnswer.set(sent.get());
                    answered.set(true);
                    return h;
                } catch (IOException e) {
                    answered.set(true);
                    return "(no answer: " + e + ")";
                }
            }, Thread::startVirtualThread);
            byte[] piece = new byte[64 << 10];
            java.util.Arrays.fill(piece, (byte) 'x');
            byte[] chunkHead = (Integer.toHexString(piece.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
            OutputStream out = s.getOutputStream();
            try {
                out.write(head);
                while (!answered.get() && sent.get() < GIB) {
                    if (!raw) {
                        out.write(chunkHead);
                    }
                    out.write(piece);
                    if (!raw) {
                        out.write(crlf);
                    }
                    sent.addAndGet(piece.length);
                }
            } catch (IOException closedByServer) {
                // the server answered and closed while we were still sending
            }
            String response = answer.get(60, TimeUnit.SECONDS);
            return new Upload(sentAtAnswer.get() < 0 ? sent.get() : sentAtAnswer.get(), response);
        }
    }

    /**
     * Bytes until the server closes the connection, or resets it: a server that closes with part of a large request
     * unread resets the connection, after its answer.
     */
    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                all.write(buffer, 0, n);
            }
        } catch (java.net.SocketException reset) {
            if (all.size() == 0) {
                throw reset;
            }
        }
        return all.toByteArray();
    }

    private static String readResponseHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                break;
            }
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    private static void skipBody(InputStream in, String head) throws IOException {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                in.readNBytes(Integer.parseInt(line.substring(15).trim()));
                return;
            }
        }
        throw new AssertionError("no content-length in " + head);
    }

    private static String statusLine(String response) {
        return response.length() >= 12 ? response.substring(0, 12) : response;
    }

    // --- the mesh's processes

    private static Map<String, Long> edgePids(JsonNode status) {
        Map<String, Long> pids = new TreeMap<>();
        for (JsonNode w : Mesh.edges(status)) {
            pids.put(w.get("id").asText(), w.get("pid").asLong());
        }
        return pids;
    }

    /** Each edge worker's peak resident set size (VmHWM), from the host's /proc. */
    private static Map<String, Long> peakRss() throws IOException {
        Map<String, Long> peaks = new TreeMap<>();
        for (Map.Entry<String, Long> w : edgePids.entrySet()) {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(w.getValue()), "status"))) {
                if (line.startsWith("VmHWM:")) {
                    peaks.put(w.getKey(), Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024);
                }
            }
        }
        return peaks;
    }

    private static Map<String, Long> mib(Map<String, Long> bytes) {
        Map<String, Long> mib = new TreeMap<>();
        bytes.forEach((k, v) -> mib.put(k, v / MIB));
        return mib;
    }
}
