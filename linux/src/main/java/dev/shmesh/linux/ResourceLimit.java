package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Process resource limits ({@code prlimit(2)} on the calling process). Lowering a limit needs no
 * privilege; raising a hard limit needs CAP_SYS_RESOURCE. Limits are per-process and inherited.
 */
public enum ResourceLimit {
    CPU(0),
    FSIZE(1),
    DATA(2),
    STACK(3),
    CORE(4),
    NPROC(6),
    NOFILE(7),
    MEMLOCK(8),
    AS(9);

    /** {@code RLIM_INFINITY}. */
    public static final long INFINITY = -1L;

    private static final MethodHandle PRLIMIT = Libc.downcall(
            "prlimit",
            FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER));

    private final int resource;

    ResourceLimit(int resource) {
        this.resource = resource;
    }

    /** The kernel's {@code RLIMIT_*} number. */
    public int resource() {
        return resource;
    }

    /** The current {soft, hard} limits of this process ({@link #INFINITY} for unlimited). */
    public long[] get() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(16, 8);
            Libc.call(
                    "prlimit",
                    "pid=0, RLIMIT_" + name() + ", NULL",
                    st -> (int) PRLIMIT.invokeExact(st, 0, resource, MemorySegment.NULL, old));
            return new long[] {old.get(ValueLayout.JAVA_LONG, 0), old.get(ValueLayout.JAVA_LONG, 8)};
        }
    }

    /** Sets both limits of this process. */
    public void set(long soft, long hard) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lim = arena.allocate(16, 8);
            lim.set(ValueLayout.JAVA_LONG, 0, soft);
            lim.set(ValueLayout.JAVA_LONG, 8, hard);
            Libc.call(
                    "prlimit",
                    "pid=0, RLIMIT_" + name() + ", {" + soft + ", " + hard + "}",
                    st -> (int) PRLIMIT.invokeExact(st, 0, resource, lim, MemorySegment.NULL));
        }
    }
}
