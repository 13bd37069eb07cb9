package dev.shmesh.mesh;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * A listening socket the gateway binds and hands to the edge workers.
 *
 * @param name a name unique in the mesh file, {@code [a-z][a-z0-9-]{0,30}}
 * @param address an IPv4 or IPv6 literal, or {@code localhost}, as written in the file
 * @param port 1..65535
 * @param protocols what it serves (an unmodifiable set in declaration order of {@link Protocol})
 */
public record Listener(String name, String address, int port, Set<Protocol> protocols) {
    /** The listener when the mesh file has no {@code listeners:} key. */
    public static final Listener DEFAULT = new Listener("public", "127.0.0.1", 8080, EnumSet.allOf(Protocol.class));

    public Listener {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
        protocols = protocols.isEmpty()
                ? Collections.unmodifiableSet(EnumSet.noneOf(Protocol.class))
                : Collections.unmodifiableSet(EnumSet.copyOf(protocols));
    }
}
