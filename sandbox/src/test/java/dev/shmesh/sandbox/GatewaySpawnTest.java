package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shmesh.linux.KernelCapabilities;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host mode end to end: a JVM armed with the {@code gateway} policy (whose filter every child inherits) can still
 * launch the worker box with bwrap, and the worker inside can still arm its own filter on top.
 */
@Timeout(90)
class GatewaySpawnTest {
    @TempDir
    Path dir;

    @Test
    void armedGatewayStillLaunchesAnArmedWorker() throws Exception {
        for (KernelCapabilities.Feature f : new KernelCapabilities.Feature[] {
                KernelCapabilities.bwrap(), KernelCapabilities.userNamespaces(), KernelCapabilities.seccompTsync()}) {
            assumeTrue(f.available(), "needs " + f.name() + ": " + f.detail());
        }
        BwrapLauncher worker = BwrapLauncher.of(SandboxPolicy.named("worker"))
                .appDir(Files.createDirectories(dir.resolve("app")))
                .runDir(Files.createDirectories(dir.resolve("run")));
        ProbeRun.codeSources().forEach(worker::roBind);
        List<String> workerArgv = worker.argv(ProbeRun.javaCommand("worker", "/etc/hostname"));

        List<String> gateway = new ArrayList<>(ProbeRun.javaLauncher());
        gateway.add("-cp");
        gateway.add(testClasses() + ":" + String.join(":", ProbeRun.codeSources().stream().map(Path::toString).toList()));
        gateway.add(GatewaySpawnProbe.class.getName());
        gateway.addAll(workerArgv);
        ProbeRun run = ProbeRun.run(new ProcessBuilder(gateway), 60);

        assertEquals(0, run.exit, run.describe());
        assertTrue(run.results.get("gateway_report").contains("\"seccomp\":2"), run.describe());
        assertEquals("fail EPERM", run.results.get("gateway_socket_2"), run.describe());
        assertEquals("fail EPERM", run.results.get("gateway_socket_10"), run.describe());
        assertEquals("ok -", run.results.get("gateway_socket_1"), run.describe());
        assertEquals("0", run.results.get("gateway_child_exit"), run.describe());
        assertTrue(run.stdout.contains("child done"), run.describe());
        assertTrue(run.stdout.contains("\"seccompFilters\":2"), "the worker stacks its filter on the gateway's: " + run.describe());
        assertTrue(run.stdout.contains("child socket_unix fail EPERM"), run.describe());
    }

    private static String testClasses() throws URISyntaxException {
        return Path.of(GatewaySpawnProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
