package dev.shmesh.api.control;

import dev.shmesh.api.control.v1.Role;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a process of the mesh is, as the gateway spawns it ({@code SHMESH_ROLE}) and as it says in Hello. */
public enum ProcessRole {
    /** Accepts on the gateway's listeners; serves HTTP and gRPC and routes calls to the services. */
    EDGE(Role.ROLE_EDGE),
    /** The demo's digest computer (until it becomes an example service). */
    COMPUTE(Role.ROLE_COMPUTE),
    /** Owns the shared-memory segments of the broker. */
    BROKER(Role.ROLE_BROKER),
    /** A replica of a service of the mesh file. */
    SERVICE(Role.ROLE_SERVICE);

    private final Role wire;

    ProcessRole(Role wire) {
        this.wire = wire;
    }

    /** The control protocol's value. */
    public Role wire() {
        return wire;
    }

    /** The lower-case name used in environment variables and the gateway's status ({@code edge}, {@code service}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role named {@code label}; an {@link IllegalArgumentException} naming the allowed values otherwise. */
    public static ProcessRole ofLabel(String label) {
        for (ProcessRole r : values()) {
            if (r.label().equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("role=" + label + " is not one of: "
                + Arrays.stream(values()).map(ProcessRole::label).collect(Collectors.joining(", ")));
    }

    /** The role of a Hello, or null for an unknown value. */
    public static ProcessRole ofWire(Role role) {
        for (ProcessRole r : values()) {
            if (r.wire == role) {
                return r;
            }
        }
        return null;
    }
}
