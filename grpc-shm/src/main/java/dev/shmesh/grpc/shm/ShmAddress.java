package dev.shmesh.grpc.shm;

import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a gRPC-over-shared-memory server takes connections: the path of its rendezvous socket (an AF_UNIX
 * stream socket that carries only the handshake; the calls go over shared-memory rings).
 */
public final class ShmAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;

    private final String path;

    public ShmAddress(Path path) {
        this.path = Objects.requireNonNull(path, "path").toAbsolutePath().toString();
    }

    public Path path() {
        return Path.of(path);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShmAddress a && a.path.equals(path);
    }

    @Override
    public int hashCode() {
        return path.hashCode();
    }

    @Override
    public String toString() {
        return "shm:" + path;
    }
}
