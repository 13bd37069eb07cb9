package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shmesh.linux.KernelCapabilities;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seccomp alone, without the launcher: a plain child JVM arms the worker filter with TSYNC. Runs wherever
 * seccomp works, even where bwrap or user namespaces do not (e.g. inside a container).
 */
@Timeout(90)
class SeccompArmTest {

    @Test
    void workerFilterDeniesTheEscapesAndCoversEveryThread() throws Exception {
        KernelCapabilities.Feature seccomp = KernelCapabilities.seccompTsync();
        assumeTrue(seccomp.available(), "needs " + seccomp.name() + ": " + seccomp.detail());
        ProbeRun probe = ProbeRun.run(new ProcessBuilder(ProbeRun.javaCommand("worker", "/etc/hostname")), 60);
        assertEquals(0, probe.exit, probe.describe());
        String report = probe.results.get("report");
        assertTrue(report.contains("\"noNewPrivs\":true"), report);
        assertTrue(report.contains("\"seccomp\":2"), report);
        String[] counts = {
            report.replaceAll(".*\"threads\":(\\d+).*", "$1"),
            report.replaceAll(".*\"threadsWithSeccompFilter\":(\\d+).*", "$1"),
            report.replaceAll(".*\"threadsWithNoNewPrivs\":(\\d+).*", "$1")
        };
        assertEquals(counts[0], counts[1], "TSYNC: every thread filtered: " + report);
        assertEquals(counts[0], counts[2], "TSYNC: every thread has no_new_privs: " + report);
        for (String denied : new String[] {
                "socket_inet", "socket_unix", "connect_loopback", "bind", "listen", "execve", "execveat", "fork",
                "clone_process", "clone_newuser", "unshare", "setns", "mount", "ptrace_attach_parent", "kill_parent",
                "bpf", "io_uring_setup", "userfaultfd", "keyctl", "write_jdk_create", "x32_getpid"}) {
            assertEquals("fail EPERM", probe.results.get(denied), denied + " in\n" + probe.describe());
        }
        assertEquals("fail ENOSYS", probe.results.get("clone3"), probe.describe());
        assertTrue(probe.results.get("open_host_path").startsWith("ok"), "read-only opens stay allowed: " + probe.describe());
        assertEquals("ok -", probe.results.get("jvm_gc"), probe.describe());
        assertEquals("ok -", probe.results.get("jvm_thread"), probe.describe());
    }
}
