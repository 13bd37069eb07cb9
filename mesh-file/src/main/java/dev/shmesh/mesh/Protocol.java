package dev.shmesh.mesh;

import java.util.Optional;

/** A protocol a {@link Listener} serves; spelled {@code http1}, {@code h2c}, {@code grpc} in the mesh file. */
public enum Protocol {
    /** HTTP/1.1. */
    HTTP1("http1"),
    /** HTTP/2 over cleartext (prior knowledge or upgrade). */
    H2C("h2c"),
    /** gRPC over HTTP/2. */
    GRPC("grpc");

    private final String spelling;

    Protocol(String spelling) {
        this.spelling = spelling;
    }

    /** The mesh file's spelling, e.g. {@code h2c}. */
    public String spelling() {
        return spelling;
    }

    /** The protocol spelled {@code spelling} in the mesh file (case-sensitive), or empty. */
    public static Optional<Protocol> ofSpelling(String spelling) {
        for (Protocol p : values()) {
            if (p.spelling.equals(spelling)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
