package dev.shmesh.gateway;

import dev.shmesh.api.control.ProcessRole;
import dev.shmesh.api.control.v1.Route;
import dev.shmesh.mesh.MeshFile;
import dev.shmesh.mesh.ServiceSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * What the mesh runs and who talks to whom: every process slot (edges, service replicas, and for the built-in demo
 * the broker and compute workers), the routes the edges get, and which pairs of processes the gateway connects over
 * shared memory. Nothing else is connected: a process holds only the rings of its own conversations.
 *
 * <p>Immutable; built once from the configuration (the built-in demo) or from a mesh file.
 */
final class MeshTopology {
    /** The service name edge workers are known by to the services they call (in their peer identity). */
    static final String EDGE = "edge";
    /** The built-in demo's compute workers, as the edges call them. */
    static final String COMPUTE = "compute";

    /** One supervised process position: its id ({@code worker-1}, {@code catalog-2}), what it is, its service. */
    record Slot(String id, ProcessRole role, ServiceSpec service) {
        /** The name this process is known by in the mesh: its service's, or its role's. */
        String serviceName() {
            return service != null ? service.name() : role == ProcessRole.EDGE ? EDGE : role.label();
        }
    }

    private final List<Slot> slots;
    private final List<Route> routes;
    private final MeshFile file;

    private MeshTopology(List<Slot> slots, List<Route> routes, MeshFile file) {
        this.slots = List.copyOf(slots);
        this.routes = List.copyOf(routes);
        this.file = file;
    }

    /** The built-in demo: a broker (when enabled), {@code edges} edge workers, {@code computes} compute workers. */
    static MeshTopology demo(int edges, boolean broker, int computes) {
        List<Slot> slots = new ArrayList<>();
        if (broker) {
            slots.add(new Slot("broker", ProcessRole.BROKER, null));
        }
        for (int i = 1; i <= edges; i++) {
            slots.add(new Slot("worker-" + i, ProcessRole.EDGE, null));
        }
        if (broker) {
            for (int i = 1; i <= computes; i++) {
                slots.add(new Slot("compute-" + i, ProcessRole.COMPUTE, null));
            }
        }
        return new MeshTopology(slots, List.of(), null);
    }

    /** The mesh {@code file} describes: its edge workers, then each service's replicas ({@code <service>-<n>}). */
    static MeshTopology of(MeshFile file) {
        List<Slot> slots = new ArrayList<>();
        for (int i = 1; i <= file.edge().replicas(); i++) {
            slots.add(new Slot("worker-" + i, ProcessRole.EDGE, null));
        }
        List<Route> routes = new ArrayList<>();
        for (ServiceSpec s : file.services()) {
            for (int i = 1; i <= s.replicas(); i++) {
                slots.add(new Slot(s.name() + "-" + i, ProcessRole.SERVICE, s));
            }
            if (s.isPublic()) {
                routes.add(Route.newBuilder().setService(s.name()).addAllGrpcServices(s.grpcServices())
                        .addAllHttpPrefixes(s.httpPrefixes()).build());
            }
        }
        return new MeshTopology(slots, routes, file);
    }

    List<Slot> slots() {
        return slots;
    }

    /** The routes of every public service, for the edges' Assign. */
    List<Route> routes() {
        return routes;
    }

    /** The mesh file, or null for the built-in demo. */
    MeshFile file() {
        return file;
    }

    /**
     * The service name {@code caller} calls {@code callee} by, or null when the two are not connected: an edge calls
     * the public services (and the demo's compute workers), a service calls the services it lists in {@code calls}.
     */
    static String connection(Slot caller, Slot callee) {
        return switch (caller.role()) {
            case EDGE -> callee.role() == ProcessRole.COMPUTE ? COMPUTE
                    : callee.service() != null && callee.service().isPublic() ? callee.service().name() : null;
            case SERVICE -> callee.service() != null && caller.service().calls().contains(callee.service().name())
                    ? callee.service().name() : null;
            default -> null;
        };
    }
}
