package dev.shmesh.grpc.shm;

import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a gRPC-over-shared-memory server is reached: either the path of its rendezvous socket (an AF_UNIX stream
 * socket that carries only the handshake; the calls go over shared-memory rings), or the name of a replica whose
 * connections a third party hands over ({@link HandedConnections}: in the mesh, the gateway).
 */
public final class ShmAddress extends SocketAddress {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final String service;
    private final String replica;

    /** The server whose rendezvous socket is at {@code path}. */
    public ShmAddress(Path path) {
        this.path = Objects.requireNonNull(path, "path").toAbsolutePath().toString();
        this.service = null;
        this.replica = null;
    }

    private ShmAddress(String service, String replica) {
        this.path = null;
        this.service = Objects.requireNonNull(service, "service");
        this.replica = Objects.requireNonNull(replica, "replica");
    }

    /** Replica {@code replica} of {@code service}, reached through connections handed to this process. */
    public static ShmAddress named(String service, String replica) {
        return new ShmAddress(service, replica);
    }

    /** Whether this names a handed replica rather than a socket. */
    public boolean isNamed() {
        return path == null;
    }

    /** The rendezvous socket; only for a socket address. */
    public Path path() {
        if (path == null) {
            throw new IllegalStateException(this + " is a named replica, not a socket");
        }
        return Path.of(path);
    }

    /** The service of a named replica, or null. */
    public String service() {
        return service;
    }

    /** The replica name of a named replica, or null. */
    public String replica() {
        return replica;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShmAddress a && Objects.equals(a.path, path) && Objects.equals(a.service, service)
                && Objects.equals(a.replica, replica);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, service, replica);
    }

    @Override
    public String toString() {
        return path != null ? "shm:" + path : "shm:///" + service + "#" + replica;
    }
}
