package dev.shmesh.broker;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A shared-memory segment whose header or layout this process refuses: wrong magic, another major version,
 * another layout kind, inconsistent lengths, never published. The segment is not used (fail closed).
 */
public final class ShmFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public ShmFormatException(Path path, String problem, String remedy) {
        super("shared-memory segment " + path + ": " + problem + "; " + remedy);
        this.path = path;
    }

    /** The segment's file, e.g. {@code /dev/shm/shmesh-demo-orders}. */
    public Path path() {
        return path;
    }
}
