package dev.shmesh.mesh;

import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Limits of one replica of a service; each is empty when the file does not set it.
 *
 * @param heapBytes the JVM's maximum heap ({@code -Xmx}), in bytes
 * @param memoryBytes the memory limit of the replica's process (cgroup / container), in bytes
 * @param pids the maximum number of tasks (threads and processes)
 * @param cpus CPU time as a number of CPUs, e.g. 1.5
 */
public record Resources(OptionalLong heapBytes, OptionalLong memoryBytes, OptionalInt pids, OptionalDouble cpus) {
    /** No limits set. */
    public static final Resources NONE =
            new Resources(OptionalLong.empty(), OptionalLong.empty(), OptionalInt.empty(), OptionalDouble.empty());

    public Resources {
        Objects.requireNonNull(heapBytes, "heapBytes");
        Objects.requireNonNull(memoryBytes, "memoryBytes");
        Objects.requireNonNull(pids, "pids");
        Objects.requireNonNull(cpus, "cpus");
    }
}
