package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shmesh.linux.KernelCapabilities;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checked-in {@code deploy/seccomp/worker.json}, loaded by a real OCI runtime (runc, through libseccomp),
 * lets the runtime exec the JVM, boot it and arm the in-JVM filter on top; the probe then finds every escape
 * closed. Needs root and runc (Debian package {@code runc}); skipped, saying which, otherwise.
 */
@Timeout(90)
class OciRuntimeProfileTest {
    @TempDir
    Path bundle;

    @Test
    void runcBootsTheWorkerUnderTheGeneratedProfile() throws Exception {
        Optional<Path> runc = KernelCapabilities.onPath("runc");
        assumeTrue(runc.isPresent(), "needs runc on PATH (Debian: apt-get install runc)");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).matches("(?s).*\\nUid:\\s+0\\s.*"), "needs root to run runc");
        Path profile = ProfileGeneratorTest.repoRoot().resolve("deploy/seccomp/worker.json");
        Path rootfs = Files.createDirectories(bundle.resolve("rootfs"));
        Files.createDirectories(rootfs.resolve("usr/lib"));
        Files.createSymbolicLink(rootfs.resolve("lib"), Path.of("usr/lib"));
        Files.createSymbolicLink(rootfs.resolve("lib64"), Path.of("usr/lib64"));
        List<String> binds = new ArrayList<>(List.of(System.getProperty("java.home"), "/usr/lib/x86_64-linux-gnu", "/usr/lib64"));
        ProbeRun.codeSources().forEach(p -> binds.add(p.toString()));
        String id = "shmesh-test-" + ProcessHandle.current().pid();
        // capability check: this runc can start a container here at all (no seccomp profile yet)
        Files.writeString(bundle.resolve("config.json"), config(List.of(ProbeRun.javaLauncher().getFirst(), "-version"), binds, null));
        ProbeRun plain = runc(runc.get(), id);
        assumeTrue(plain.exit == 0, "runc cannot start a container on this host: " + plain.describe());

        Files.writeString(bundle.resolve("config.json"), config(ProbeRun.javaCommand("worker", "/etc/hostname"), binds, Files.readString(profile)));
        ProbeRun probe = runc(runc.get(), id);
        assertEquals(0, probe.exit, probe.describe());
        assertTrue(probe.results.containsKey("done"), probe.describe());
        assertTrue(probe.results.get("report").contains("\"seccompFilters\":2"), "runtime profile + in-JVM filter: " + probe.describe());
        assertTrue(probe.results.get("report").contains("\"fullyConfined\":true"), probe.describe());
        for (String denied : List.of("socket_inet", "socket_unix", "connect_loopback", "execve", "fork", "clone_newuser", "unshare",
                "mount", "ptrace_traceme", "bpf", "io_uring_setup", "keyctl", "write_jdk_create")) {
            assertEquals("fail EPERM", probe.results.get(denied), denied + " in\n" + probe.describe());
        }
        assertEquals("fail ENOSYS", probe.results.get("clone3"), probe.describe());
        // libseccomp treats x32 as a foreign architecture: the runtime's profile kills the calling thread
        assertEquals("killed -", probe.results.get("x32_getpid"), probe.describe());
        assertEquals("lo -", probe.results.get("netdev"), probe.describe());
        assertEquals("ok -", probe.results.get("jvm_gc"), probe.describe());
    }

    /** Runs the bundle as container {@code id} and always deletes the container afterwards. */
    private ProbeRun runc(Path runc, String id) throws Exception {
        try {
            return ProbeRun.run(new ProcessBuilder(runc.toString(), "run", "--bundle", bundle.toString(), id), 60);
        } finally {
            Process delete = new ProcessBuilder(runc.toString(), "delete", "-f", id).redirectErrorStream(true).start();
            delete.getInputStream().readAllBytes();
            delete.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A minimal OCI runtime config: read-only root, uid 65534, no capabilities, new namespaces, the given seccomp profile. */
    private static String config(List<String> args, List<String> roBinds, String seccompJson) {
        StringBuilder mounts = new StringBuilder();
        for (Map.Entry<String, String> m : Map.of("/proc", "proc", "/dev", "tmpfs", "/tmp", "tmpfs").entrySet()) {
            mounts.append("{\"destination\":\"").append(m.getKey()).append("\",\"type\":\"").append(m.getValue())
                    .append("\",\"source\":\"").append(m.getValue()).append("\",\"options\":[\"nosuid\"]},");
        }
        for (String b : roBinds) {
            mounts.append("{\"destination\":\"").append(b).append("\",\"type\":\"bind\",\"source\":\"").append(b)
                    .append("\",\"options\":[\"rbind\",\"ro\"]},");
        }
        mounts.setLength(mounts.length() - 1);
        StringBuilder argv = new StringBuilder();
        for (String a : args) {
            argv.append(argv.isEmpty() ? "" : ",").append('"').append(a.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return "{\"ociVersion\":\"1.0.2\","
                + "\"process\":{\"terminal\":false,\"user\":{\"uid\":65534,\"gid\":65534},\"args\":[" + argv + "],"
                + "\"env\":[\"LANG=C.UTF-8\"],\"cwd\":\"/\",\"noNewPrivileges\":true},"
                + "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
                + "\"hostname\":\"shmesh-worker\","
                + "\"mounts\":[" + mounts + "],"
                + "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]"
                + (seccompJson == null ? "" : ",")
                + (seccompJson == null ? "" : "\"seccomp\":" + seccompJson)
                + "}}";
    }
}
