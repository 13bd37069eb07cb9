package dev.shmesh.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** deploy/Dockerfile, .dockerignore and the health probe the shell-less image runs. */
class ImageTest {
    private static final Path ROOT = Manifests.root();

    @Test
    void dockerfileNeverRunsAShellAndRunsAsTheMeshUser() throws IOException {
        List<String> lines = Files.readAllLines(ROOT.resolve("deploy/Dockerfile")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        for (String l : lines) {
            assertFalse(l.startsWith("RUN ") || l.startsWith("ADD "), "shmesh-base has no shell and nothing is fetched: " + l);
        }
        assertTrue(lines.contains("ARG BASE_IMAGE=eclipse-temurin:25-jre"), "the base is an ARG");
        assertTrue(lines.contains("FROM ${BASE_IMAGE}"));
        assertTrue(lines.contains("USER 10001:10001"));
        assertTrue(lines.contains("ENTRYPOINT [\"java\", \"@/app/jvm.options\"]"), "exec-form ENTRYPOINT with the one JVM flags file");
        assertTrue(lines.contains("CMD [\"-jar\", \"/app/worker/quarkus-run.jar\"]"), "the worker is the default role");
        List<String> ignore = Files.readAllLines(ROOT.resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertEquals("*", ignore.getFirst(), ".dockerignore starts by excluding everything");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void healthProbeExitsZeroOnlyFor2xx(@TempDir Path out) throws Exception {
        var javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-Xlint:all", "-Werror", "--release", "25", "-cp", out.toString(), "-d", out.toString(),
                ROOT.resolve("deploy/healthcheck/HealthCheck.java").toString());
        assertEquals(0, rc, "HealthCheck.java compiles");

        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/up", x -> { x.sendResponseHeaders(200, -1); x.close(); });
        server.createContext("/down", x -> {
            byte[] body = "{\"status\":\"DOWN\"}".getBytes();
            x.sendResponseHeaders(503, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            assertEquals(0, probe(out, base + "/up"));
            assertEquals(1, probe(out, base + "/down"));
            assertEquals(1, probe(out, "http://127.0.0.1:" + closedPort + "/health/ready"));
            assertEquals(1, probe(out, "not a url"));
        } finally {
            server.stop(0);
        }
    }

    private static int probe(Path classes, String url) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", classes.toString(), "HealthCheck", url)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "probe exits");
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }
}
