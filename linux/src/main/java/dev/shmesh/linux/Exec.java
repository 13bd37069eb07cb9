package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Replacing the running program: {@code execve(2)} of the calling process, keeping its pid, with exactly the
 * descriptors chosen. An execve from one thread of a multithreaded process ends every other thread; the new
 * program starts with the calling thread's credentials (uids, capability sets, bounding set, no_new_privs).
 *
 * <p>Thread-safe as far as the kernel is; {@link #execve} does not return on success.
 */
public final class Exec {
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;
    private static final int CLOSE_RANGE_CLOEXEC = 1 << 2;

    private static final MethodHandle EXECVE = Libc.downcall(
            "execve", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER, Libc.C_POINTER));
    private static final MethodHandle CLOSE_RANGE = Libc.downcall(
            "close_range", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle FCNTL =
            Libc.downcall("fcntl", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));

    private Exec() {}

    /**
     * Marks every descriptor from 3 up close-on-exec ({@code close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)}, Linux
     * 5.11+: nothing is closed now, so the JVM keeps working until the exec) and then clears close-on-exec on
     * {@code keep}: only those survive an {@link #execve}.
     */
    public static void onlyInheritOnExec(int... keep) throws LinuxException {
        Libc.call("close_range", "3, ~0U, CLOSE_RANGE_CLOEXEC",
                st -> (int) CLOSE_RANGE.invokeExact(st, 3, -1, CLOSE_RANGE_CLOEXEC));
        for (int fd : keep) {
            int flags = (int) Libc.call("fcntl", "fd=" + fd + ", F_GETFD", st -> (int) FCNTL.invokeExact(st, fd, F_GETFD, 0));
            Libc.call("fcntl", "fd=" + fd + ", F_SETFD, " + (flags & ~FD_CLOEXEC),
                    st -> (int) FCNTL.invokeExact(st, fd, F_SETFD, flags & ~FD_CLOEXEC));
        }
    }

    /**
     * {@code execve(path, argv, env)}. Returns only by throwing.
     *
     * @throws LinuxException when the kernel refuses (the process is unchanged)
     */
    public static void execve(String path, List<String> argv, Map<String, String> env) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocateFrom(path, StandardCharsets.UTF_8);
            MemorySegment args = strings(arena, argv);
            MemorySegment envp = strings(arena, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
            Libc.call("execve", "\"" + path + "\", " + argv.size() + " args, " + env.size() + " variables",
                    st -> (int) EXECVE.invokeExact(st, file, args, envp));
            throw new IllegalStateException("execve returned without an error");
        }
    }

    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, values.size() + 1L); // NULL-terminated, zeroed
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(values.get(i), StandardCharsets.UTF_8));
        }
        return array;
    }
}
