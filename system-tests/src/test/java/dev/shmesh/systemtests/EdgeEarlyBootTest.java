package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An edge worker told its listener's address (SHMESH_HTTP_ADDRESS) boots Quarkus while its control handshake runs on
 * another thread, and the boot waits for the Assign before the HTTP server binds. A handshake that fails then must
 * still end the process with the handshake's exit code and message, not leave it hanging at that wait.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EdgeEarlyBootTest {

    @Test
    void aHandshakeThatFailsWhileQuarkusBootsExitsWith76AndSaysWhy() throws Exception {
        Path dir = Files.createTempDirectory("shmesh-early-boot");
        Path stderr = dir.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Mesh.JVM_OPTIONS, "-jar", Mesh.WORKER_JAR.toString()))
                .redirectError(stderr.toFile())
                .redirectOutput(dir.resolve("stdout").toFile());
        Map<String, String> env = pb.environment();
        env.put("SHMESH_CONTROL_SOCKET", dir.resolve("no-gateway.sock").toString());
        env.put("SHMESH_CONNECT_TIMEOUT_MS", "2000"); // longer than the boot takes to reach the wait
        env.put("SHMESH_HTTP_ADDRESS", "127.0.0.1:1");
        env.put("SHMESH_WORKER_ID", "worker-9");
        env.put("SHMESH_TOKEN", "00".repeat(32));
        env.put("SHMESH_ROLE", "edge");
        Process worker = pb.start();
        try {
            assertTrue(worker.waitFor(30, TimeUnit.SECONDS), "the worker hangs instead of exiting");
            String err = Files.readString(stderr, StandardCharsets.UTF_8);
            assertEquals(76, worker.exitValue(), err);
            assertTrue(err.contains("shmesh worker worker-9: control handshake with the gateway at")
                    && err.contains("cannot connect to the gateway's control socket"), err);
        } finally {
            worker.destroyForcibly();
            worker.waitFor(10, TimeUnit.SECONDS);
            for (String f : List.of("stderr", "stdout")) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.deleteIfExists(dir);
        }
    }
}
