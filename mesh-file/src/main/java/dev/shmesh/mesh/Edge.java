package dev.shmesh.mesh;

/**
 * The generic edge workers: {@code replicas} processes accept on every {@link Listener} and route each call to the
 * owning service (see {@link RouteTable}).
 *
 * @param replicas how many edge workers, 1..64; 2 by default
 */
public record Edge(int replicas) {
    /** The edge when the mesh file has no {@code edge:} key. */
    public static final Edge DEFAULT = new Edge(2);
}
