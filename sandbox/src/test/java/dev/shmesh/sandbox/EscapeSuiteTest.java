package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shmesh.linux.KernelCapabilities;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The escape suite: the probe runs inside exactly the worker launcher box (bwrap) plus the worker seccomp
 * policy armed after a warm-up, and every forbidden action must fail with the exact errno listed here.
 * Skipped, naming what is missing, where bwrap, user namespaces or seccomp TSYNC are unavailable.
 */
@Timeout(120)
class EscapeSuiteTest {
    private static ProbeRun probe;
    private static Path work;
    /** What this host lacks for the suite, or null; every test reports it as its skip reason. */
    private static String missing;

    @BeforeAll
    static void runProbeInsideTheWorkerBox() throws Exception {
        for (KernelCapabilities.Feature f : new KernelCapabilities.Feature[] {
                KernelCapabilities.bwrap(), KernelCapabilities.userNamespaces(), KernelCapabilities.seccompTsync()}) {
            if (!f.available() && missing == null) {
                missing = "escape suite needs " + f.name() + ": " + f.detail();
            }
        }
        if (missing != null) {
            return;
        }
        work = Files.createTempDirectory("shmesh-escape");
        Path app = Files.createDirectories(work.resolve("app"));
        Path run = Files.createDirectories(work.resolve("run"));
        Path host = Files.createDirectories(work.resolve("host-only"));
        Path hostFile = Files.writeString(host.resolve("secret"), "host data");
        BwrapLauncher launcher = BwrapLauncher.of(SandboxPolicy.named("worker")).appDir(app).runDir(run).strict(true);
        ProbeRun.codeSources().forEach(launcher::roBind);
        try (ServerSocket hostListener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            BwrapLauncher.Launch launch = launcher.launch(ProbeRun.javaCommand("worker", hostFile.toString(), hostListener.getLocalPort()));
            assertTrue(launch.sandboxed());
            probe = ProbeRun.run(launch.processBuilder(), 60);
        }
        assertEquals(0, probe.exit, probe.describe());
        assertTrue(probe.results.containsKey("done"), probe.describe());
    }

    /** The probe's results; skips the calling test, naming what is missing, when the box cannot be built here. */
    private static ProbeRun probe() {
        assumeTrue(missing == null, missing);
        return probe;
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (work != null) {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        // the launcher's layers alone, before seccomp: a read-only JDK bind, a pid namespace without the parent,
        // a network namespace whose loopback is not the host's, and no_new_privs already set by bwrap
        "prearm_write_jdk, fail EROFS",
        "prearm_kill_parent, fail ESRCH",
        "prearm_connect_host_port, fail ECONNREFUSED",
        "prearm_no_new_privs, 1 -",
        // the policy's limits, and no way to raise them again
        "rlimit_core, 0 0",
        "raise_rlimit_core, fail EPERM",
        "socket_inet, fail EPERM",
        "socket_inet6, fail EPERM",
        "socket_unix, fail EPERM",
        "socket_netlink, fail EPERM",
        "socket_packet, fail EPERM",
        "connect_loopback, fail EPERM",
        "bind, fail EPERM",
        "listen, fail EPERM",
        "execve, fail EPERM",
        "execveat, fail EPERM",
        "fork, fail EPERM",
        "vfork, fail EPERM",
        "clone_process, fail EPERM",
        "clone_newuser, fail EPERM",
        "clone_newnet, fail EPERM",
        "clone3, fail ENOSYS",
        "unshare, fail EPERM",
        "setns, fail EPERM",
        "mount, fail EPERM",
        "umount2, fail EPERM",
        "pivot_root, fail EPERM",
        "chroot, fail EPERM",
        "ptrace_traceme, fail EPERM",
        "ptrace_attach_parent, fail EPERM",
        "process_vm_readv, fail EPERM",
        "process_vm_writev, fail EPERM",
        "kill_parent, fail EPERM",
        "parent_visible, no -",
        "setuid_0, fail EPERM",
        "setgid_0, fail EPERM",
        // read-only opens are allowed, so these reach the fresh root, where the files do not exist
        "open_shadow, fail ENOENT",
        "open_host_path, fail ENOENT",
        "write_jdk_create, fail EPERM",
        "write_jdk_existing, fail EPERM",
        "open_tmp_create, fail EPERM",
        "mkdir_jdk, fail EPERM",
        "keyctl, fail EPERM",
        "add_key, fail EPERM",
        "bpf, fail EPERM",
        "perf_event_open, fail EPERM",
        "userfaultfd, fail EPERM",
        "io_uring_setup, fail EPERM",
        "init_module, fail EPERM",
        "kexec_load, fail EPERM",
        "reboot, fail EPERM",
        "personality, fail EPERM",
        "x32_getpid, fail EPERM",
        "netdev, lo -",
        // the JVM still works once armed
        "jvm_alloc, ok 64",
        "jvm_thread, ok -",
        "jvm_pool, ok -",
        "jvm_gc, ok -",
        "jvm_classload, ok -",
        "jvm_read_jdk, ok -",
    })
    void eachActionHasItsExactOutcome(String action, String expected) {
        assertEquals(expected, probe().results.get(action), action + " in\n" + probe().describe());
    }

    @Test
    void noCapabilitiesNoNewPrivsAndEveryThreadFiltered() {
        String report = probe().results.get("report");
        for (String field : new String[] {
                "\"capEff\":\"0000000000000000\"", "\"capPrm\":\"0000000000000000\"", "\"capBnd\":\"0000000000000000\"",
                "\"capAmb\":\"0000000000000000\"", "\"noNewPrivs\":true", "\"seccomp\":2", "\"fullyConfined\":true"}) {
            assertTrue(report.contains(field), field + " in " + report);
        }
        assertTrue(report.matches(".*\"uidMap\":\"65534 \\d+ 1\".*"), "only the policy's uid is mapped: " + report);
        String[] after = probe().results.get("threads_after").split("[ /]");
        assertEquals(after[0], after[1], "threads filtered after the probe started more: " + probe().results.get("threads_after"));
        assertTrue(Integer.parseInt(after[1]) > 5, "a JVM has many threads: " + after[1]);
    }

    @Test
    void openFilesAreCappedAtThePolicysLimitAndSoftEqualsHard() {
        String[] nofile = probe().results.get("rlimit_nofile").split(" ");
        long hard = Long.parseUnsignedLong(nofile[1]);
        assertTrue(Long.compareUnsigned(hard, 65536) <= 0, "hard NOFILE at most the policy's 65536 (lower when the host's is): " + hard);
        assertEquals(nofile[1], nofile[0], "soft raised to hard");
    }

    @Test
    void everyNamespaceDiffersFromTheTestJvms() throws Exception {
        String report = probe().results.get("report");
        for (Namespace n : Namespace.values()) {
            String mine = Files.readSymbolicLink(Path.of("/proc/self/ns", n.procName())).toString();
            String theirs = "\"ns." + n.procName() + "\":\"" + mine + "\"";
            assertTrue(report.contains("\"ns." + n.procName() + "\":\"" + n.procName() + ":["), report);
            assertFalse(report.contains(theirs), n.procName() + " namespace is shared with the test JVM (" + mine + "): " + report);
        }
    }
}
