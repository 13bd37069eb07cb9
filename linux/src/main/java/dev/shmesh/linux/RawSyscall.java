package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * glibc's {@code syscall(2)}: any system call by number, for calls glibc does not wrap ({@code seccomp},
 * {@code pidfd_open}) and for sandbox probes that must reach the kernel without glibc's fallbacks.
 *
 * <p>{@link #invoke} does not retry EINTR and does not throw: it reports the raw outcome. Thread-safe.
 */
public final class RawSyscall {
    private static final MethodHandle SYSCALL = Libc.downcallVariadic(
            "syscall",
            FunctionDescriptor.of(
                    Libc.C_LONG,
                    Libc.C_LONG,
                    Libc.C_LONG, Libc.C_LONG, Libc.C_LONG, Libc.C_LONG, Libc.C_LONG, Libc.C_LONG),
            1);

    /** What one call returned: {@code value} when it succeeded, else -1 and the errno. */
    public record Outcome(long value, int errno) {
        /** True when the kernel returned a non-negative value. */
        public boolean succeeded() {
            return value >= 0;
        }

        @Override
        public String toString() {
            return succeeded() ? "ok " + value : "fail " + Errno.name(errno);
        }
    }

    private RawSyscall() {}

    /** Performs system call {@code nr} with up to six arguments (missing ones are 0). */
    public static Outcome invoke(long nr, long... args) {
        if (args.length > 6) {
            throw new IllegalArgumentException("args.length=" + args.length + " exceeds 6");
        }
        long[] a = java.util.Arrays.copyOf(args, 6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Libc.callState(arena);
            long rc;
            try {
                rc = (long) SYSCALL.invokeExact(st, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            } catch (Throwable t) {
                throw new IllegalStateException("syscall(" + nr + ") threw", t);
            }
            return rc < 0 ? new Outcome(-1, Libc.errno(st)) : new Outcome(rc, 0);
        }
    }

    /**
     * Performs system call {@code nr}, retrying EINTR, and throws a {@link LinuxException} naming
     * {@code name} and {@code arguments} on failure.
     */
    public static long call(String name, String arguments, long nr, long... args) throws LinuxException {
        if (args.length > 6) {
            throw new IllegalArgumentException("args.length=" + args.length + " exceeds 6");
        }
        long[] a = java.util.Arrays.copyOf(args, 6);
        return Libc.call(name, arguments, st -> (long) SYSCALL.invokeExact(st, nr, a[0], a[1], a[2], a[3], a[4], a[5]));
    }
}
