package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a running mesh creates on the file system is private to the gateway's user: the run dir (0700), the control
 * socket and the mesh lock (0600) inside it, the /dev/shm segments (0600); nothing of the mesh is a lock file in
 * /dev/shm. Files other users plant under shmesh-like names in /dev/shm are neither taken as patterns nor removed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MeshFilesTest {

    @Test
    void everythingAMeshCreatesIsOwnedByTheGatewayUserAndPrivate() throws Exception {
        // names a careless sweep would take as globs, or as another mesh's leftovers
        Path glob = Files.writeString(Path.of("/dev/shm/shmesh-*.lock"), "planted");
        Path foreign = Files.writeString(Path.of("/dev/shm/shmesh-planted" + ProcessHandle.current().pid() + "-jobs"),
                "not a mesh's");
        try (Mesh mesh = Mesh.start(1).awaitReady(1)) {
            int uid = gatewayUid(mesh);
            assertPrivate(mesh.runDir, "directory", 0700, uid);
            assertPrivate(mesh.runDir.resolve("control.sock"), "socket", 0600, uid);
            assertPrivate(mesh.runDir.resolve("shmesh-" + mesh.name + ".lock"), "file", 0600, uid);
            List<String> segments = MeshLockTest.segments(mesh.name);
            assertTrue(segments.size() > 3, segments.toString());
            for (String s : segments) {
                assertPrivate(Path.of("/dev/shm", s), "file", 0600, uid);
            }
            assertFalse(Files.exists(Path.of("/dev/shm/shmesh-" + mesh.name + ".lock"), LinkOption.NOFOLLOW_LINKS),
                    "no lock in the world-writable /dev/shm");
            mesh.gateway.destroy();
            assertTrue(mesh.gateway.waitFor(30, TimeUnit.SECONDS));
            assertEquals(List.of(), MeshLockTest.segments(mesh.name), "a stopped mesh removes its own segments");
            assertFalse(Files.exists(mesh.runDir.resolve("shmesh-" + mesh.name + ".lock")), "and its lock file");
        } finally {
            assertTrue(Files.exists(glob), "a file named like a pattern is left alone");
            assertTrue(Files.exists(foreign), "another mesh's segment is left alone");
            Files.deleteIfExists(glob);
            Files.deleteIfExists(foreign);
        }
    }

    @Test
    void aSymlinkedLockFileIsRefused() throws Exception {
        Path runDir = Files.createTempDirectory("shmesh-test-run");
        Path target = Files.createTempFile("shmesh-lock-target", "");
        String name = "symlinked" + ProcessHandle.current().pid();
        Files.createSymbolicLink(runDir.resolve("shmesh-" + name + ".lock"), target);
        try (Mesh mesh = Mesh.start(List.of(), Mesh.freePort(), runDir, 1, "--mesh", name)) {
            assertTrue(mesh.gateway.waitFor(60, TimeUnit.SECONDS), "the gateway refuses to start");
            assertEquals(1, mesh.gateway.exitValue(), mesh.logTail());
            assertTrue(mesh.logTail().contains("O_NOFOLLOW") && mesh.logTail().contains("ELOOP"), mesh.logTail());
        } finally {
            Files.deleteIfExists(runDir.resolve("shmesh-" + name + ".lock"));
            Files.deleteIfExists(target);
            Files.deleteIfExists(runDir);
        }
    }

    private static void assertPrivate(Path path, String type, int mode, int uid) throws Exception {
        Map<String, Object> a = Files.readAttributes(path, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        int m = (Integer) a.get("mode");
        String actualType = switch (m & 0170000) {
            case 0040000 -> "directory";
            case 0100000 -> "file";
            case 0140000 -> "socket";
            default -> "type " + Integer.toOctalString(m & 0170000);
        };
        assertEquals(type, actualType, path.toString());
        assertEquals(Integer.toOctalString(mode), Integer.toOctalString(m & 07777),
                path + " mode " + PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS)));
        assertEquals(uid, (Integer) a.get("uid"), path + " owner");
    }

    /** The real uid of the gateway process, from the host's /proc. */
    static int gatewayUid(Mesh mesh) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(mesh.gateway.pid()), "status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.split("\\s+")[1]);
            }
        }
        throw new AssertionError("no Uid: line for the gateway");
    }
}
