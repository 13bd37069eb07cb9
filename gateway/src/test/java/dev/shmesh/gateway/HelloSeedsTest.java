package dev.shmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.Ready;
import dev.shmesh.api.control.v1.Role;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed inputs of {@link HelloCheckFuzzTest}: first frames as {@link ControlFrames#write} writes them — the Hello
 * of each role, and the ones a peer gets refused with (another version, no role, an unknown role, an id with a
 * newline and a terminal escape, an id too long, no id, a Ready first). {@code -Dshmesh.fuzz.write-seeds=true}
 * rewrites the checked-in files.
 */
class HelloSeedsTest {
    private static final Path INPUTS =
            Path.of("src/test/resources/dev/shmesh/gateway/HelloCheckFuzzTestInputs/firstFrame");

    @Test
    void checkedInSeedsAreWhatTheEncoderWrites() throws IOException {
        Map<String, Envelope> frames = new LinkedHashMap<>();
        Hello ok = Hello.newBuilder().setRole(Role.ROLE_EDGE).setInstanceId("worker-1")
                .setProtocolVersion(ControlFrames.PROTOCOL_VERSION).setToken("3f9a1c0e5b7d2a4c").build();
        frames.put("edge", Envelope.newBuilder().setHello(ok).build());
        frames.put("compute", Envelope.newBuilder().setHello(ok.toBuilder().setRole(Role.ROLE_COMPUTE)
                .setInstanceId("compute-2")).build());
        frames.put("broker", Envelope.newBuilder().setHello(ok.toBuilder().setRole(Role.ROLE_BROKER)
                .setInstanceId("broker")).build());
        frames.put("version-2", Envelope.newBuilder().setHello(ok.toBuilder().setProtocolVersion(2)).build());
        frames.put("no-role", Envelope.newBuilder().setHello(ok.toBuilder().setRole(Role.ROLE_UNSPECIFIED)).build());
        frames.put("unknown-role", Envelope.newBuilder().setHello(ok.toBuilder().setRoleValue(99)).build());
        frames.put("id-with-newline", Envelope.newBuilder().setHello(ok.toBuilder()
                .setInstanceId("worker-1\n2026-12-04 WARN control: \u001b[2Jforged")).build());
        frames.put("id-too-long", Envelope.newBuilder().setHello(ok.toBuilder().setInstanceId("w".repeat(65))).build());
        frames.put("no-id", Envelope.newBuilder().setHello(ok.toBuilder().clearInstanceId()).build());
        frames.put("ready-first", Envelope.newBuilder().setReady(Ready.newBuilder().addServing("http")).build());
        boolean write = Boolean.getBoolean("shmesh.fuzz.write-seeds");
        for (Map.Entry<String, Envelope> e : frames.entrySet()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ControlFrames.write(out, e.getValue());
            Path file = INPUTS.resolve("seed-" + e.getKey());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, out.toByteArray());
            }
            assertTrue(Files.exists(file), file + " is missing: run with -Dshmesh.fuzz.write-seeds=true");
            assertArrayEquals(out.toByteArray(), Files.readAllBytes(file), file + " is not what the encoder writes now:"
                    + " run with -Dshmesh.fuzz.write-seeds=true");
        }
    }
}
