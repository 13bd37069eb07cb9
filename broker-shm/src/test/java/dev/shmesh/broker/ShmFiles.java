package dev.shmesh.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Unique /dev/shm names for one test, all deleted by {@link #deleteAll()}. */
final class ShmFiles {
    final String mesh = "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private final List<Path> paths = new ArrayList<>();

    Path path(String name) {
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
