package dev.shmesh.grpc.shm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.Ring;
import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import dev.shmesh.grpc.shm.ShmServerBuilder;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.MemFd;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * A peer that breaks the protocol loses its own connection and nothing else: the server keeps serving everyone
 * else. Each case speaks the raw protocol ({@link FrameDescriptor}) on a real socket and real rings.
 */
@Timeout(60)
class HostilePeerTest {
    @TempDir
    Path dir;
    private Path socket;
    private Server server;
    private ManagedChannel honest;

    @BeforeEach
    void startServer() throws Exception {
        socket = dir.resolve("s.sock");
        HealthStatusManager health = new HealthStatusManager();
        server = ShmServerBuilder.forPath(socket).shmHandshakeTimeout(300, TimeUnit.MILLISECONDS)
                .addService(health.getHealthService()).build().start();
        honest = ShmChannelBuilder.forAddress(new ShmAddress(socket)).build();
        assertServes();
    }

    @AfterEach
    void stop() throws Exception {
        honest.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private void assertServes() {
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(honest)
                .withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
    }

    /** Waits until the server closed the socket: a read returns end of stream. */
    private static void assertClosedByServer(AFUNIXSocket s) throws Exception {
        s.setSoTimeout(30_000);
        InputStream in = s.getInputStream();
        int b;
        do {
            b = in.read();
        } while (b >= 0);
    }

    @Test
    void aRecordOfUnknownTypeClosesThatConnectionOnly() throws Exception {
        Rendezvous.Established est = Rendezvous.connect(socket, 1 << 16, 5_000);
        try (AFUNIXSocket s = (AFUNIXSocket) est.socket()) {
            MemorySegment junk = MemorySegment.ofArray(new byte[32]);
            assertTrue(est.outbound().offer(99, junk, 0, 32) >= 0);
            assertClosedByServer(s);
            assertTrue(waitForState(est.inbound()), "the server closed its ring to us");
        }
        assertServes();
    }

    @Test
    void aFrameWhosePiecesDoNotAddUpClosesThatConnectionOnly() throws Exception {
        Rendezvous.Established est = Rendezvous.connect(socket, 1 << 16, 5_000);
        try (AFUNIXSocket s = (AFUNIXSocket) est.socket()) {
            // a first record announcing 10 body bytes and carrying 20
            MemorySegment rec = MemorySegment.ofArray(new byte[32]);
            ValueLayout.OfInt le = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            rec.set(le, 0, 1);
            rec.set(le, 4, 0);
            rec.set(le, 8, 10);
            assertTrue(est.outbound().offer(FrameDescriptor.HEADERS, rec, 0, 32) >= 0);
            assertClosedByServer(s);
        }
        assertServes();
    }

    /**
     * grpc-java's server throws NumberFormatException on a malformed grpc-timeout: that was the connection thread
     * failing (SEVERE, INTERNAL) and a stream listener throwing NullPointerException after it; it is the peer's
     * protocol error, and only its connection closes.
     */
    @Test
    void headersThatGrpcRefusesAreThatPeersProtocolError() throws Exception {
        java.util.List<java.util.logging.LogRecord> severe = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("dev.shmesh.grpc.shm.internal");
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()) {
                    severe.add(r);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        log.addHandler(handler);
        try {
            Rendezvous.Established est = Rendezvous.connect(socket, 1 << 16, 5_000);
            try (AFUNIXSocket s = (AFUNIXSocket) est.socket()) {
                io.grpc.Metadata md = new io.grpc.Metadata();
                md.put(io.grpc.Metadata.Key.of("grpc-timeout", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "zzz");
                assertTrue(new FrameWriter(est.outbound()).write(FrameDescriptor.HEADERS, 1,
                        FrameBodies.headers("grpc.health.v1.Health/Check", null, md)));
                assertClosedByServer(s);
            }
            assertServes();
            assertTrue(severe.isEmpty(), () -> "logged as a server failure: " + severe.get(0).getMessage() + " "
                    + severe.get(0).getThrown());
        } finally {
            log.removeHandler(handler);
        }
    }

    @Test
    void aHelloWithAnUnsealedMemfdIsRefused() throws Exception {
        int a = MemFd.create("unsealed", 1 << 20, MemFd.MFD_CLOEXEC);
        int b = MemFd.create("unsealed", 1 << 20, MemFd.MFD_CLOEXEC);
        try (AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket))) {
            s.setOutboundFileDescriptors(FileDescriptorCast.unsafeUsing(a).getFileDescriptor(),
                    FileDescriptorCast.unsafeUsing(b).getFileDescriptor());
            s.getOutputStream().write(hello());
            assertClosedByServer(s);
        } finally {
            FileDescriptors.closeQuietly(a);
            FileDescriptors.closeQuietly(b);
        }
        assertServes();
    }

    @Test
    void aHelloWithoutRingsOrWithBadMagicIsRefused() throws Exception {
        try (AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket))) {
            s.getOutputStream().write(hello());
            assertClosedByServer(s);
        }
        try (AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket))) {
            s.getOutputStream().write(new byte[FrameDescriptor.HELLO_LENGTH]);
            assertClosedByServer(s);
        }
        assertServes();
    }

    @Test
    void aPeerThatSaysNothingIsDroppedAfterTheHandshakeTimeout() throws Exception {
        try (AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket))) {
            s.getOutputStream().write(new byte[3]); // a third of a magic number, then silence
            assertClosedByServer(s);
        }
        assertServes();
    }

    private static byte[] hello() {
        return ByteBuffer.allocate(FrameDescriptor.HELLO_LENGTH).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(FrameDescriptor.MAGIC).putInt(FrameDescriptor.VERSION).putInt(0).array();
    }

    /** Whether the peer closed {@code ring} within 30 s: a poll returns CLOSED once it is drained. */
    private static boolean waitForState(Ring ring) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (ring.poll((t, buf, off, len) -> { }, 100) == Ring.CLOSED) {
                return true;
            }
            Thread.onSpinWait();
        }
        return false;
    }
}
