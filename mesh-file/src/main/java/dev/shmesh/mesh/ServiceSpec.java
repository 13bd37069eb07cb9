package dev.shmesh.mesh;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One service of the mesh: an ordinary app (a jar) run as {@code replicas} sandboxed processes.
 *
 * @param name unique in the mesh, {@code [a-z][a-z0-9-]{0,30}}, not {@code edge}, {@code gateway} or {@code broker}
 * @param artifact the jar, absolute and normalized (resolved against the mesh file's directory)
 * @param replicas 1..64
 * @param exposure {@link Exposure#PUBLIC} services are routed to by the edge
 * @param grpcServices the full gRPC service names it serves, e.g. {@code shmesh.demo.v1.Demo}
 * @param httpPrefixes the HTTP route prefixes the edge sends to it (public services only)
 * @param calls the other services of the mesh it calls over shared memory; only these get connected to it
 * @param listen a port of its own that its replicas serve directly (public services only)
 * @param sandbox extra syscalls and read-only paths for its sandbox
 * @param resources heap and process limits
 * @param env extra environment variables, in file order
 */
public record ServiceSpec(
        String name,
        Path artifact,
        int replicas,
        Exposure exposure,
        List<String> grpcServices,
        List<String> httpPrefixes,
        List<String> calls,
        OptionalInt listen,
        SandboxSpec sandbox,
        Resources resources,
        Map<String, String> env) {

    public ServiceSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(artifact, "artifact");
        Objects.requireNonNull(exposure, "exposure");
        grpcServices = List.copyOf(grpcServices);
        httpPrefixes = List.copyOf(httpPrefixes);
        calls = List.copyOf(calls);
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(sandbox, "sandbox");
        Objects.requireNonNull(resources, "resources");
        LinkedHashMap<String, String> copy = new LinkedHashMap<>(env);
        copy.forEach((k, v) -> {
            Objects.requireNonNull(k, "env key");
            Objects.requireNonNull(v, () -> "env value of " + k);
        });
        env = Collections.unmodifiableMap(copy);
    }

    /** Whether the edge routes to it. */
    public boolean isPublic() {
        return exposure == Exposure.PUBLIC;
    }
}
