package dev.shmesh.mesh;

import java.util.Optional;

/** Who can reach a service; spelled {@code public} and {@code internal} in the mesh file. */
public enum Exposure {
    /** Routed to by the edge (its gRPC services and HTTP prefixes), and callable by the services that list it. */
    PUBLIC("public"),
    /** Callable only over shared memory by the services of the mesh that list it in {@code calls}. */
    INTERNAL("internal");

    private final String spelling;

    Exposure(String spelling) {
        this.spelling = spelling;
    }

    /** The mesh file's spelling, e.g. {@code public}. */
    public String spelling() {
        return spelling;
    }

    /** The exposure spelled {@code spelling} in the mesh file (case-sensitive), or empty. */
    public static Optional<Exposure> ofSpelling(String spelling) {
        for (Exposure e : values()) {
            if (e.spelling.equals(spelling)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }
}
