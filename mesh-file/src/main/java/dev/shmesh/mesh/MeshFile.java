package dev.shmesh.mesh;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The mesh file {@code shmesh.yaml}: the mesh's name, its listeners, its edge workers and its services. Parsed
 * strictly (see {@code docs/mesh-file.md}); an instance is immutable and always valid: names unique, every
 * cross-reference resolved, artifacts absolute.
 *
 * @param mesh the mesh's name, {@code [a-z0-9][a-z0-9_.]{0,30}}; {@code default} when the file has none
 * @param listeners at least one; names and address:port pairs unique
 * @param edge the edge workers
 * @param services at least one, in file order
 * @param source the file it was read from, or null
 */
public record MeshFile(String mesh, List<Listener> listeners, Edge edge, List<ServiceSpec> services, Path source) {
    /** The largest mesh file read, in bytes (UTF-8): 1 MiB. */
    public static final int MAX_BYTES = 1 << 20;

    public MeshFile {
        Objects.requireNonNull(mesh, "mesh");
        listeners = List.copyOf(listeners);
        Objects.requireNonNull(edge, "edge");
        services = List.copyOf(services);
    }

    /**
     * Reads and validates a mesh file (UTF-8, at most {@link #MAX_BYTES}); relative artifact paths are resolved
     * against the file's directory.
     *
     * @throws MeshFileException if the file cannot be read or is not a valid mesh file; the first error only
     */
    public static MeshFile parse(Path file) throws MeshFileException {
        return MeshFileParser.parse(file);
    }

    /**
     * Validates mesh file text. {@code source} names the file in error messages and anchors relative artifact paths
     * (they resolve against {@code source}'s directory); when null, against the current directory.
     *
     * @throws MeshFileException if the text is not a valid mesh file; the first error only
     */
    public static MeshFile parse(String yaml, Path source) throws MeshFileException {
        return MeshFileParser.parse(yaml, source);
    }

    /** The service named {@code name}, if the mesh has one. */
    public Optional<ServiceSpec> service(String name) {
        for (ServiceSpec s : services) {
            if (s.name().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /**
     * Checks that every service's artifact is a readable regular file, as the gateway does before it starts anything.
     *
     * @return one user-facing message per artifact that is not; empty when all are there
     */
    public List<String> checkArtifacts() {
        List<String> problems = new ArrayList<>();
        for (ServiceSpec s : services) {
            Path jar = s.artifact();
            String why;
            if (!Files.exists(jar)) {
                why = "does not exist";
            } else if (!Files.isRegularFile(jar)) {
                why = "is not a regular file";
            } else if (!Files.isReadable(jar)) {
                why = "is not readable";
            } else {
                continue;
            }
            problems.add("service '" + s.name() + "': artifact " + jar + " " + why
                    + "; build it first (./shmesh build) or fix the path");
        }
        return List.copyOf(problems);
    }
}
