package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.Ready;
import dev.shmesh.api.control.v1.Role;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * Processes the gateway did not spawn connect to its control socket and misbehave. Each is dropped
 * without receiving a single fd, the drop is counted, and the real workers never notice.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ControlSocketHostilePeerTest {
    private static Mesh mesh;
    private static Map<String, Long> workerPids;

    @BeforeAll
    static void startMesh() throws Exception {
        mesh = Mesh.start(2, "-Dshmesh.control.hello-timeout=1s", "-Dshmesh.control.max-unauthenticated=4")
                .awaitReady(2);
        workerPids = pids(mesh.status());
    }

    @AfterAll
    static void stopMesh() throws Exception {
        if (mesh == null) {
            return;
        }
        try {
            // the real workers kept serving through everything above
            JsonNode status = mesh.status();
            assertEquals(workerPids, pids(status));
            assertEquals(status.get("workers").size(), Mesh.countState(status, "ready"));
            assertEquals(200, mesh.get(mesh.port, "/v1/echo?msg=still-here").statusCode());
        } finally {
            mesh.close();
        }
    }

    @Test
    void aFakeWorkerClaimingAServingWorkersIdGetsNoFd() throws Exception {
        assertDroppedWithoutFds(hello("worker-1", "00".repeat(32)));
    }

    @Test
    void anUnknownInstanceIdGetsNoFd() throws Exception {
        assertDroppedWithoutFds(hello("worker-99", "anything"));
    }

    @Test
    void aFrameOtherThanHelloFirstIsDropped() throws Exception {
        assertDroppedWithoutFds(frame(Envelope.newBuilder().setReady(Ready.getDefaultInstance()).build()));
    }

    @Test
    void aPeerOpeningWithMembersIsDropped() throws Exception {
        // Members flows gateway -> broker only; after Hello the gateway accepts nothing but Ready and Heartbeat
        assertDroppedWithoutFds(frame(Envelope.newBuilder().setMembers(
                dev.shmesh.api.control.v1.Members.newBuilder().setHighestAssigned(99)).build()));
    }

    @Test
    void garbageIsDropped() throws Exception {
        byte[] garbage = new byte[1024];
        new Random(42).nextBytes(garbage);
        garbage[0] = 0; // a plausible length prefix, then noise
        garbage[1] = 0;
        garbage[2] = 3;
        garbage[3] = (byte) 0xE8;
        assertDroppedWithoutFds(garbage);
    }

    @Test
    void anOversizeLengthPrefixIsDroppedAtOnce() throws Exception {
        assertDroppedWithoutFds(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    }

    @Test
    void aHalfWrittenFrameIsDroppedAfterTheHelloTimeout() throws Exception {
        byte[] whole = hello("worker-1", "x");
        byte[] half = java.util.Arrays.copyOf(whole, whole.length / 2);
        assertDroppedWithoutFds(half);
    }

    @Test
    void aSilentPeerIsDroppedAfterTheHelloTimeout() throws Exception {
        assertDroppedWithoutFds(new byte[0]);
    }

    @Test
    void aPeerDrippingItsHelloOneByteAtATimeIsDroppedAtTheHelloDeadline() throws Exception {
        long rejectedBefore = mesh.status().get("rejectedPeers").asLong();
        byte[] hello = hello("worker-1", "x".repeat(200)); // ~20 s at 10 bytes a second; the deadline is 1 s
        int sent = 0;
        try (AFUNIXSocket s = connect()) {
            java.io.OutputStream out = s.getOutputStream();
            try {
                for (; sent < hello.length; sent++) {
                    out.write(hello[sent]);
                    out.flush();
                    Thread.sleep(100); // the drip itself: each byte well within any per-read timeout
                }
            } catch (IOException dropped) {
                // EPIPE/ECONNRESET: the gateway closed the connection
            }
            assertTrue(sent < hello.length, "the gateway let a peer drip " + sent + " bytes of its Hello; it must drop"
                    + " it at the absolute hello deadline");
            if (!s.isClosed()) { // junixsocket closes its end itself when the write failed
                assertClosedWithoutFds(s);
            }
        }
        awaitRejectedAtLeast(rejectedBefore + 1);
        assertTrue(mesh.logTail().contains("no valid Hello within the 1000 ms hello timeout"), mesh.logTail());
    }

    @Test
    void connectionsBeyondTheCapOfUnauthenticatedOnesAreClosedAtAccept() throws Exception {
        java.util.List<AFUNIXSocket> waiting = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) { // the cap: each holds a slot until its hello deadline
                waiting.add(connect());
            }
            try (AFUNIXSocket fifth = connect()) {
                assertClosedWithoutFds(fifth);
            }
            mesh.awaitStatus("the refusal logged", st -> mesh.logTail().contains(
                    "without a valid Hello (shmesh.control.max-unauthenticated)"), Duration.ofSeconds(10));
        } finally {
            for (AFUNIXSocket s : waiting) {
                s.close();
            }
        }
    }

    @Test
    void aPeerSendingFdsIsDropped() throws Exception {
        long rejectedBefore = mesh.status().get("rejectedPeers").asLong();
        try (AFUNIXSocket s = connect(); FileInputStream someFile = new FileInputStream("/proc/self/status")) {
            s.setOutboundFileDescriptors(someFile.getFD());
            s.getOutputStream().write(hello("worker-1", "x"));
            assertClosedWithoutFds(s);
        }
        awaitRejectedAtLeast(rejectedBefore + 1);
    }

    private static void assertDroppedWithoutFds(byte[] bytes) throws Exception {
        long rejectedBefore = mesh.status().get("rejectedPeers").asLong();
        try (AFUNIXSocket s = connect()) {
            if (bytes.length > 0) {
                s.getOutputStream().write(bytes);
                s.getOutputStream().flush();
            }
            assertClosedWithoutFds(s);
        }
        awaitRejectedAtLeast(rejectedBefore + 1);
    }

    private static void assertClosedWithoutFds(AFUNIXSocket s) throws IOException {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        int read;
        try {
            read = in.read(new byte[64 * 1024]);
            while (read > 0) {
                read = in.read(new byte[64 * 1024]);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the gateway kept the hostile peer's connection open", e);
        } catch (IOException e) {
            read = -1; // reset by the gateway: closed as well
        }
        assertEquals(-1, read, "connection closed by the gateway");
        FileDescriptor[] fds = s.getReceivedFileDescriptors();
        assertTrue(fds == null || fds.length == 0, "a hostile peer received fds");
    }

    private static void awaitRejectedAtLeast(long n) {
        mesh.awaitStatus("rejectedPeers >= " + n, st -> st.get("rejectedPeers").asLong() >= n, Duration.ofSeconds(10));
    }

    private static AFUNIXSocket connect() throws IOException {
        AFUNIXSocket s = AFUNIXSocket.newInstance();
        s.connect(AFUNIXSocketAddress.of(Path.of(mesh.runDir.toString(), "control.sock")));
        s.setAncillaryReceiveBufferSize(4096);
        return s;
    }

    private static byte[] hello(String id, String token) throws IOException {
        return frame(Envelope.newBuilder()
                .setHello(Hello.newBuilder()
                        .setRole(Role.ROLE_EDGE)
                        .setInstanceId(id)
                        .setProtocolVersion(ControlFrames.PROTOCOL_VERSION)
                        .setToken(token))
                .build());
    }

    private static byte[] frame(Envelope envelope) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ControlFrames.write(out, envelope);
        return out.toByteArray();
    }

    private static Map<String, Long> pids(JsonNode status) {
        Map<String, Long> pids = new HashMap<>();
        for (JsonNode w : status.get("workers")) {
            pids.put(w.get("id").asText(), w.get("pid").asLong());
        }
        return pids;
    }
}
