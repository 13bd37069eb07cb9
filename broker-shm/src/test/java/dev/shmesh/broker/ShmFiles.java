package dev.shmesh.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Unique /dev/shm names for one test, all deleted by {@link #deleteAll()}. A host without a writable /dev/shm
 * skips the test (it needs POSIX shared memory) rather than failing it.
 */
final class ShmFiles {
    final String mesh = "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private final List<Path> paths = new ArrayList<>();

    Path path(String name) {
        Assumptions.assumeTrue(Files.isDirectory(ShmSegment.SHM_DIRECTORY) && Files.isWritable(ShmSegment.SHM_DIRECTORY),
                "needs a writable /dev/shm (POSIX shared memory, a tmpfs); mount one (docker: --shm-size) to run this");
        Path p = ShmSegment.pathOf(mesh, name);
        paths.add(p);
        return p;
    }

    void deleteAll() throws IOException {
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }
}
