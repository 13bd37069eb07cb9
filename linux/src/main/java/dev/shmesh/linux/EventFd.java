package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** {@code eventfd(2)}: a kernel counter usable as a wake-up between processes that share the fd. */
public final class EventFd {
    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    private static final MethodHandle EVENTFD =
            Libc.downcall("eventfd", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle READ =
            Libc.downcall("read", FunctionDescriptor.of(Libc.C_LONG, Libc.C_INT, Libc.C_POINTER, Libc.C_LONG));
    private static final MethodHandle WRITE =
            Libc.downcall("write", FunctionDescriptor.of(Libc.C_LONG, Libc.C_INT, Libc.C_POINTER, Libc.C_LONG));

    private EventFd() {}

    /** A new eventfd owned by the caller; {@code flags} from {@code EFD_*}. */
    public static int open(int initialValue, int flags) throws LinuxException {
        return (int) Libc.call(
                "eventfd", initialValue + ", flags=" + flags, st -> (int) EVENTFD.invokeExact(st, initialValue, flags));
    }

    /** Adds {@code value} to the counter (wakes a reader). */
    public static void signal(int fd, long value) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_LONG);
            v.set(ValueLayout.JAVA_LONG, 0, value);
            Libc.call("write", "eventfd=" + fd + ", " + value, st -> (long) WRITE.invokeExact(st, fd, v, 8L));
        }
    }

    /** Reads and resets the counter (or decrements by one with EFD_SEMAPHORE); blocks unless EFD_NONBLOCK. */
    public static long await(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_LONG);
            Libc.call("read", "eventfd=" + fd, st -> (long) READ.invokeExact(st, fd, v, 8L));
            return v.get(ValueLayout.JAVA_LONG, 0);
        }
    }
}
