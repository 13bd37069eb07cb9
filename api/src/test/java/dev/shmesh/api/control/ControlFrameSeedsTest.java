package dev.shmesh.api.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.api.control.v1.Assign;
import dev.shmesh.api.control.v1.Connection;
import dev.shmesh.api.control.v1.ConnectionPeer;
import dev.shmesh.api.control.v1.Drain;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.FdKind;
import dev.shmesh.api.control.v1.HandedFd;
import dev.shmesh.api.control.v1.Heartbeat;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.Members;
import dev.shmesh.api.control.v1.PeerHealth;
import dev.shmesh.api.control.v1.Ready;
import dev.shmesh.api.control.v1.Role;
import dev.shmesh.api.control.v1.Segments;
import dev.shmesh.api.control.v1.Side;
import dev.shmesh.api.control.v1.Stop;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed inputs of {@link ControlFramesFuzzTest}: every message of the protocol as {@link ControlFrames#write}
 * writes it, a whole session's stream, and the frames a broken peer sends (lengths out of range, cut short, unknown
 * fields, no body, malformed protobuf). The checked-in files must be what this test writes;
 * {@code -Dshmesh.fuzz.write-seeds=true} rewrites them.
 */
class ControlFrameSeedsTest {
    private static final Path INPUTS =
            Path.of("src/test/resources/dev/shmesh/api/control/ControlFramesFuzzTestInputs/readFrames");

    static Envelope hello() {
        return Envelope.newBuilder().setHello(Hello.newBuilder().setRole(Role.ROLE_EDGE).setInstanceId("worker-1")
                .setProtocolVersion(ControlFrames.PROTOCOL_VERSION).setToken("3f9a1c0e5b7d2a4c")).build();
    }

    static Map<String, byte[]> frames() throws IOException {
        Map<String, Envelope> messages = new LinkedHashMap<>();
        messages.put("hello", hello());
        messages.put("assign", Envelope.newBuilder().setAssign(Assign.newBuilder().setMesh("default")
                .setInstanceId("worker-1").setHeartbeatIntervalMs(1000).setMember(7).setGeneration(0x5eed_1234_abcdL)
                .addFds(HandedFd.newBuilder().setName("http").setKind(FdKind.FD_KIND_TCP_LISTENER)
                        .setAddress("127.0.0.1:8080"))).build());
        messages.put("ready", Envelope.newBuilder().setReady(Ready.newBuilder().addServing("http")).build());
        messages.put("heartbeat", Envelope.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(42).setHealth(
                PeerHealth.newBuilder().setInstanceId("worker-1").setPid(4242).putFds("http", "7").setRequests(99)
                        .putSandbox("CapEff", "0000000000000000").putSandbox("NoNewPrivs", "1").setRssBytes(1 << 26)
                        .putInfo("jobs", "12"))).build());
        messages.put("drain", Envelope.newBuilder().setDrain(Drain.newBuilder().setTimeoutMs(5000)).build());
        messages.put("stop", Envelope.newBuilder().setStop(Stop.getDefaultInstance()).build());
        messages.put("segments", Envelope.newBuilder().setSegments(Segments.newBuilder().addFds(HandedFd.newBuilder()
                .setName("jobs").setKind(FdKind.FD_KIND_SHM_SEGMENT))).build());
        messages.put("members", Envelope.newBuilder().setMembers(Members.newBuilder().setHighestAssigned(9).addLive(1)
                .addLive(4).addLive(9)).build());
        messages.put("connection", Envelope.newBuilder().setConnection(Connection.newBuilder().setSide(Side.SIDE_CLIENT)
                .setService("compute").setReplica("compute-1").setStreamWindow(1 << 16).setPeer(ConnectionPeer
                        .newBuilder().setService("compute").setWorker("compute-1").setPid(4343).setUid(1000)
                        .setGid(1000))).build());
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        ByteArrayOutputStream session = new ByteArrayOutputStream();
        for (Map.Entry<String, Envelope> m : messages.entrySet()) {
            ByteArrayOutputStream one = new ByteArrayOutputStream();
            ControlFrames.write(one, m.getValue());
            seeds.put("seed-" + m.getKey(), one.toByteArray());
            ControlFrames.write(session, m.getValue());
        }
        seeds.put("seed-session", session.toByteArray());
        byte[] hello = seeds.get("seed-hello");
        seeds.put("seed-length-zero", new byte[] {0, 0, 0, 0});
        seeds.put("seed-length-over-max", new byte[] {0, 1, 0, 1, 10, 0});
        seeds.put("seed-length-all-ones", new byte[] {-1, -1, -1, -1, 10, 0});
        seeds.put("seed-prefix-cut-short", new byte[] {0, 0});
        seeds.put("seed-body-cut-short", Arrays.copyOf(hello, hello.length - 3));
        byte[] body = Arrays.copyOfRange(hello, 4, hello.length);
        // field 99 (varint 1) after the body: an unknown field at the top level; inside Hello (field 1's bytes)
        seeds.put("seed-unknown-field", frame(concat(body, new byte[] {(byte) 0x98, 0x06, 0x01})));
        byte[] helloFields = Arrays.copyOfRange(body, 2, body.length);
        byte[] nested = concat(helloFields, new byte[] {(byte) 0x98, 0x06, 0x01});
        seeds.put("seed-unknown-field-in-hello", frame(concat(new byte[] {0x0a, (byte) nested.length}, nested)));
        seeds.put("seed-no-body", frame(new byte[] {(byte) 0x98, 0x06, 0x01}));
        seeds.put("seed-malformed-varint", frame(new byte[] {0x0a, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}));
        return seeds;
    }

    @Test
    void checkedInSeedsAreWhatTheEncoderWrites() throws IOException {
        boolean write = Boolean.getBoolean("shmesh.fuzz.write-seeds");
        for (Map.Entry<String, byte[]> e : frames().entrySet()) {
            Path file = INPUTS.resolve(e.getKey());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, e.getValue());
            }
            assertTrue(Files.exists(file), file + " is missing: run with -Dshmesh.fuzz.write-seeds=true");
            assertArrayEquals(e.getValue(), Files.readAllBytes(file), file + " is not what the encoder writes now:"
                    + " run with -Dshmesh.fuzz.write-seeds=true");
        }
    }

    private static byte[] frame(byte[] body) {
        byte[] f = new byte[4 + body.length];
        f[0] = (byte) (body.length >>> 24);
        f[1] = (byte) (body.length >>> 16);
        f[2] = (byte) (body.length >>> 8);
        f[3] = (byte) body.length;
        System.arraycopy(body, 0, f, 4, body.length);
        return f;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
