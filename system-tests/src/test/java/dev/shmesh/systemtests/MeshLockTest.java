package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One gateway per mesh: a second gateway of a running mesh is refused by the mesh lock before it binds, spawns
 * or removes anything, and a gateway of another mesh leaves this one's shared memory alone.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MeshLockTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void aSecondGatewayOfARunningMeshIsRefusedAndTheLiveMeshKeepsItsSegments() throws Exception {
        try (Mesh first = Mesh.start(1).awaitReady(1)) {
            List<String> segments = segments(first.name);
            assertTrue(segments.size() > 3, "the broker's segments exist: " + segments);
            assertEquals(200, digest(first).statusCode());

            for (int attempt = 1; attempt <= 2; attempt++) { // the first refusal must not have loosened the lock
                try (Mesh second = Mesh.startBeside(first, 1)) {
                    assertTrue(second.gateway.waitFor(60, TimeUnit.SECONDS), "the second gateway exits");
                    assertEquals(1, second.gateway.exitValue(), second.logTail());
                    assertTrue(second.logTail().contains("another gateway runs mesh '" + first.name + "'"),
                            second.logTail());
                    assertTrue(second.knownProcesses().stream()
                                    .noneMatch(p -> p.pid() != second.gateway.pid() && p.isAlive()),
                            "the refused gateway spawned nothing");
                }
                assertEquals(segments, segments(first.name), "attempt " + attempt + ": the live mesh's segments");
            }

            // a gateway of another mesh on this host starts and stops without touching this mesh
            try (Mesh other = Mesh.start(1, "-Dshmesh.broker.enabled=false").awaitReady(1)) {
                assertTrue(other.gateway.isAlive());
            }
            assertEquals(segments, segments(first.name), "after another mesh came and went");

            assertEquals(200, digest(first).statusCode(), "the first mesh still computes over its shared memory");
            assertTrue(Mesh.countState(first.status(), "ready") == first.status().get("workers").size());
        }
    }

    private static HttpResponse<String> digest(Mesh mesh) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mesh.port + "/v1/digest"))
                        .timeout(Duration.ofSeconds(20))
                        .POST(HttpRequest.BodyPublishers.ofString("lock"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static List<String> segments(String mesh) throws IOException {
        try (var files = Files.list(Path.of("/dev/shm"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("shmesh-" + mesh + "-"))
                    .sorted()
                    .toList();
        }
    }
}
