package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class BwrapLauncherTest {
    @TempDir
    Path dir;

    private BwrapLauncher worker() {
        return BwrapLauncher.of(SandboxPolicy.named("worker"))
                .jdkDir(Path.of("/opt/jdk"))
                .appDir(dir.resolve("app"))
                .runDir(dir.resolve("run"))
                .env("SHMESH_ROLE", "worker");
    }

    @Test
    void argvUnsharesEverythingDropsCapsAndBindsOnlyWhatTheWorkerNeeds() {
        List<String> a = worker().argv(List.of("/opt/jdk/bin/java", "-version"));
        for (String flag : List.of("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session", "--clearenv")) {
            assertTrue(a.contains(flag), flag + " in " + a);
        }
        assertEquals(List.of("--cap-drop", "ALL"), a.subList(a.indexOf("--cap-drop"), a.indexOf("--cap-drop") + 2));
        assertEquals(List.of("--ro-bind", "/opt/jdk", "/opt/jdk"), a.subList(a.indexOf("/opt/jdk") - 1, a.indexOf("/opt/jdk") + 2));
        String run = dir.resolve("run").toString();
        assertEquals(List.of("--bind", run, run), a.subList(a.indexOf(run) - 1, a.indexOf(run) + 2));
        assertEquals(List.of("--setenv", "SHMESH_ROLE", "worker"), a.subList(a.indexOf("SHMESH_ROLE") - 1, a.indexOf("SHMESH_ROLE") + 2));
        assertTrue(a.indexOf("--tmpfs") < a.indexOf(run), "binds come after fresh file systems, so a run dir under /tmp stays visible");
        assertEquals(List.of("--", "/opt/jdk/bin/java", "-version"), a.subList(a.size() - 3, a.size()));
        assertEquals(1, Collections.frequency(a, "--"));
        assertFalse(a.contains("/dev/shm"), "workers receive shm fds, they do not see /dev/shm: " + a);
    }

    @Test
    void brokerGetsTheHostDevShm() {
        List<String> a = BwrapLauncher.of(SandboxPolicy.named("broker")).appDir(dir).runDir(dir).argv(List.of("x"));
        assertEquals(List.of("--bind", "/dev/shm", "/dev/shm"), a.subList(a.indexOf("/dev/shm") - 1, a.indexOf("/dev/shm") + 2));
        assertTrue(a.indexOf("--dev") < a.indexOf("/dev/shm"));
    }

    @Test
    void missingBwrapIsReportedWithTheFixAndStrictRefuses() throws Exception {
        BwrapLauncher l = worker().bwrapBinary(dir.resolve("no-such-bwrap"));
        BwrapLauncher.Preflight pre = l.preflight();
        assertFalse(pre.ok());
        assertEquals("find bwrap", pre.step());
        assertTrue(pre.fix().contains("apt-get install bubblewrap"), pre.fix());
        assertTrue(pre.runsWithout().contains("no namespaces"), pre.runsWithout());

        BwrapLauncher.Launch degraded = l.launch(List.of("/bin/true"));
        assertFalse(degraded.sandboxed());
        assertEquals(List.of("/bin/true"), degraded.processBuilder().command());
        assertEquals(Collections.singletonMap("SHMESH_ROLE", "worker"), degraded.processBuilder().environment());
        assertTrue(degraded.degradation().contains("find bwrap"), degraded.degradation());

        SandboxException e = assertThrows(SandboxException.class, () -> l.strict(true).launch(List.of("/bin/true")));
        assertEquals("find bwrap", e.step());
        assertTrue(e.getMessage().contains("apt-get install bubblewrap"), e.getMessage());
    }

    @Test
    void aBwrapThatFailsIsQuotedVerbatim() throws Exception {
        // the one kernel edge we fake: a bwrap that fails the way a refused user namespace does
        Path fake = dir.resolve("bwrap");
        Files.writeString(fake, "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        BwrapLauncher.Preflight pre = worker().bwrapBinary(fake).preflight();
        assertFalse(pre.ok());
        assertTrue(pre.detail().contains("setting up uid map: Permission denied"), pre.detail());
        assertFalse(pre.fix().isBlank());
    }
}
