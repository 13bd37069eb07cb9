package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shmesh.linux.KernelCapabilities;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container profile (what deploy/seccomp/worker.json encodes) is enough to exec and boot the JVM and to
 * let it arm its own inner filter: bwrap loads the compiled container profile with {@code --seccomp} right
 * before exec, as a container runtime would, and the probe runs under both filters.
 */
@Timeout(90)
class ContainerProfileTest {
    @TempDir
    Path dir;

    @Test
    void jvmBootsUnderTheContainerProfileAndStacksItsOwnFilter() throws Exception {
        for (KernelCapabilities.Feature f : new KernelCapabilities.Feature[] {
                KernelCapabilities.bwrap(), KernelCapabilities.userNamespaces(), KernelCapabilities.seccompTsync()}) {
            assumeTrue(f.available(), "needs " + f.name() + ": " + f.detail());
        }
        SandboxPolicy worker = SandboxPolicy.named("worker");
        Path program = Files.write(dir.resolve("worker.bpf"), SeccompFilter.compile(worker.containerProfile()).program());
        BwrapLauncher launcher = BwrapLauncher.of(worker)
                .appDir(Files.createDirectories(dir.resolve("app")))
                .runDir(Files.createDirectories(dir.resolve("run")));
        ProbeRun.codeSources().forEach(launcher::roBind);
        List<String> argv = new ArrayList<>(launcher.argv(ProbeRun.javaCommand("worker", "/etc/hostname")));
        // bwrap reads the program from stdin; --as-pid-1: no bwrap init under the filter, the JVM is pid 1 as in a container
        argv.addAll(argv.indexOf("--"), List.of("--as-pid-1", "--seccomp", "0"));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(program.toFile());
        pb.environment().clear();
        ProbeRun probe = ProbeRun.run(pb, 60, false);
        assertEquals(0, probe.exit, probe.describe());
        String report = probe.results.get("report");
        assertTrue(report.contains("\"seccompFilters\":2"), "container filter + in-JVM filter: " + report);
        assertTrue(report.contains("\"fullyConfined\":true"), report);
        assertEquals("fail EPERM", probe.results.get("socket_inet"), probe.describe());
        assertEquals("fail ENOSYS", probe.results.get("clone3"), probe.describe());
        assertEquals("ok -", probe.results.get("jvm_gc"), probe.describe());
        assertTrue(probe.results.containsKey("done"), probe.describe());
    }

    @Test
    void theContainerProfilesLetTheJvmCreateOnlyUnixSocketsAtBoot() {
        for (String name : List.of("worker", "broker")) {
            List<SandboxPolicy.SyscallRule> socket = SandboxPolicy.named(name).containerProfile().rulesFor("socket");
            assertEquals(1, socket.size(), name + ": " + socket);
            assertEquals(List.of(new SandboxPolicy.ArgCondition(0, SandboxPolicy.Op.EQ, 1, 0)), socket.get(0).conditions(),
                    name + ": socket(AF_UNIX, ...) only, for the control connection");
            assertTrue(SandboxPolicy.named(name).rulesFor("socket").stream()
                    .noneMatch(r -> r.action() == SandboxPolicy.Action.ALLOW), name + ": the in-JVM filter denies socket()");
        }
    }
}
