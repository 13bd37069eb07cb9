package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shmesh.api.control.ControlFrames;
import dev.shmesh.api.control.v1.Envelope;
import dev.shmesh.api.control.v1.Hello;
import dev.shmesh.api.control.v1.Role;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A slot waiting for its worker: a wrong token is refused, and so is the right token presented by
 * a process that is not the spawned worker (SO_PEERCRED pid check), even one of the gateway's own uid. Neither
 * receives an fd.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class StolenTokenTest {

    @Test
    void theTokenAloneIsNotEnoughTheSpawnedPidMustPresentIt() throws Exception {
        String testClasses = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> p.endsWith("test-classes"))
                .findFirst()
                .orElseThrow();
        try (Mesh mesh = Mesh.start(1, "--isolation", "none", // the test-classes dir is not inside a box
                "-Dshmesh.broker.enabled=false",
                "-Dshmesh.worker.jvm-args=-cp " + testClasses + " " + SilentWorker.class.getName())) {
            JsonNode status = mesh.awaitStatus("worker-1 starting and its token leaked",
                    s -> mesh.worker(s, "worker-1").get("state").asText().equals("starting")
                            && mesh.worker(s, "worker-1").hasNonNull("pid")
                            && mesh.logTail().contains("silent worker leaks its token"),
                    Duration.ofSeconds(30));
            long pid = mesh.worker(status, "worker-1").get("pid").asLong();

            assertRefusedWithoutFds(mesh, "00".repeat(32));
            assertTrue(mesh.logTail().contains("wrong token for worker-1"), mesh.logTail());

            // the token is on no command line and in no environment: the spawned process itself leaked it
            String stolen = leakedToken(mesh);
            assertEquals(64, stolen.length(), "the spawned process holds a 32-byte token");
            assertRefusedWithoutFds(mesh, stolen);
            assertTrue(mesh.logTail().contains("is not worker-1's process " + pid), mesh.logTail());

            JsonNode after = mesh.status();
            assertEquals("starting", mesh.worker(after, "worker-1").get("state").asText(), "the token is not consumed");
            assertEquals(2, after.get("rejectedPeers").asLong());
        }
    }

    /**
     * Presents {@code token} for worker-1 from another process running as the gateway's own uid (a root peer would be
     * refused for its uid before its token or pid is looked at), which gets nothing back: no Assign, so no fd.
     */
    private static void assertRefusedWithoutFds(Mesh mesh, String token) throws Exception {
        java.io.ByteArrayOutputStream frame = new java.io.ByteArrayOutputStream();
        ControlFrames.write(frame, Envelope.newBuilder()
                .setHello(Hello.newBuilder()
                        .setRole(Role.ROLE_EDGE)
                        .setInstanceId("worker-1")
                        .setProtocolVersion(ControlFrames.PROTOCOL_VERSION)
                        .setToken(token))
                .build());
        String out = Mesh.runAsGatewayUser(mesh, ImpostorClient.class,
                mesh.runDir.resolve("control.sock").toString(), java.util.HexFormat.of().formatHex(frame.toByteArray()));
        assertEquals("closed after 0 bytes", out.strip(), "no Assign (the only frame with fds) for an impostor");
    }

    private static String leakedToken(Mesh mesh) throws IOException {
        String marker = "silent worker leaks its token: ";
        for (String line : Files.readAllLines(mesh.log, StandardCharsets.UTF_8)) {
            int at = line.indexOf(marker);
            if (at >= 0) {
                return line.substring(at + marker.length()).strip();
            }
        }
        throw new AssertionError("the silent worker printed no token\n" + mesh.logTail());
    }
}
