package dev.shmesh.mesh;

import java.nio.file.Path;
import java.util.List;

/**
 * What a service's sandbox allows beyond the default worker policy.
 *
 * @param syscalls extra syscall names to allow, {@code [a-z0-9_]+}, in file order (empty when absent)
 * @param paths extra absolute paths bound read-only into the sandbox, in file order (empty when absent)
 */
public record SandboxSpec(List<String> syscalls, List<Path> paths) {
    /** No extras: the default worker policy alone. */
    public static final SandboxSpec NONE = new SandboxSpec(List.of(), List.of());

    public SandboxSpec {
        syscalls = List.copyOf(syscalls);
        paths = List.copyOf(paths);
    }
}
