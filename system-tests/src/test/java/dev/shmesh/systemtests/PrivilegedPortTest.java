package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Ports below 1024 without keeping a capability: systemd socket activation, or an ambient capability. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PrivilegedPortTest {

    @Test
    void aSocketActivatedGatewayServesTheInheritedListenerAndBindsNothing() throws Exception {
        assumeTrue(onPath("systemd-socket-activate"), "needs systemd-socket-activate (Debian package systemd)");
        int port = Mesh.freePort();
        // hold the configured port: a gateway that ignored LISTEN_FDS and bound it would fail with EADDRINUSE
        try (ServerSocket decoy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Mesh mesh = Mesh.start(
                        List.of("systemd-socket-activate", "-l", "127.0.0.1:" + port, "--fdname=http"),
                        port, Files.createTempDirectory("shmesh-test-run"), 2,
                        "--port", Integer.toString(decoy.getLocalPort()))) {
            // systemd-socket-activate starts the gateway on the first connection, which waits in the backlog through
            // the whole start: a root gateway starts its JVM twice (it re-executes itself unprivileged), then spawns
            // and boots a worker. One request, once the activator listens: no retry that could hide a refusal.
            Mesh.await("systemd-socket-activate listening on 127.0.0.1:" + port, () -> Mesh.listening(port),
                    Duration.ofSeconds(20));
            assertEquals(200, mesh.get(port, "/v1/echo?msg=activated", Duration.ofSeconds(60)).statusCode(),
                    mesh::logTail);
            JsonNode status = mesh.awaitReady(2).status();
            assertEquals("127.0.0.1:" + port, status.get("listeners").get(0).get("address").asText());
        }
    }

    @Test
    void aNonRootGatewayBindsPort80WithOnlyAnAmbientCapabilityThenCannotBindAgain() throws Exception {
        assumeTrue("root".equals(ProcessHandle.current().info().user().orElse("")),
                "needs root to start the gateway as another user with setpriv");
        assumeTrue(onPath("setpriv"), "needs setpriv (Debian package util-linux)");
        assumeTrue(portFree(80), "needs 127.0.0.1:80 free");
        Path runDir = Files.createTempDirectory("shmesh-test-run");
        UserPrincipalLookupService users = runDir.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(runDir, users.lookupPrincipalByName("nobody"));
        List<String> asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service");
        try (Mesh mesh = Mesh.start(asNobody, 80, runDir, 1, "--port", "80").awaitReady(1)) {
            assertEquals(200, mesh.get(80, "/v1/echo?msg=port80").statusCode());
            List<String> proc = Files.readAllLines(Path.of("/proc", Long.toString(mesh.gateway.pid()), "status"));
            assertTrue(proc.stream().anyMatch(l -> l.matches("Uid:\\s+65534\\s.*")), proc.toString());
            assertTrue(proc.contains("CapAmb:\t0000000000000400"), "only CAP_NET_BIND_SERVICE, ambient: " + proc);
            JsonNode gateway = mesh.status().get("gateway");
            JsonNode sandbox = gateway.get("sandbox");
            assertEquals(2, sandbox.get("seccomp").asInt(), gateway.toString());
            assertEquals(sandbox.get("threads").asInt(), sandbox.get("threadsWithSeccompFilter").asInt(),
                    "every thread, each holding the capability, is under the filter");
            assertTrue(gateway.get("bindAgain").asText().startsWith("denied"), gateway.toString());
        } finally {
            Files.deleteIfExists(runDir);
        }
    }

    private static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort() == port;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

}
