package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/** {@code memfd_create(2)}: anonymous memory with an fd, to hand over with SCM_RIGHTS; no path to open. */
public final class MemFd {
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;

    private static final MethodHandle MEMFD_CREATE =
            Libc.downcall("memfd_create", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_INT));
    /** {@code fcntl} seals ({@code F_ADD_SEALS}): no further seals, no shrinking, no growing. */
    public static final int F_SEAL_SEAL = 0x0001;
    public static final int F_SEAL_SHRINK = 0x0002;
    public static final int F_SEAL_GROW = 0x0004;

    private static final int F_ADD_SEALS = 1024 + 9;
    private static final int F_GET_SEALS = 1024 + 10;
    private static final MethodHandle FCNTL = Libc.downcallVariadic(
            "fcntl", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT), 2);
    private static final MethodHandle FTRUNCATE =
            Libc.downcall("ftruncate", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_LONG));

    private MemFd() {}

    /** Creates a memfd named {@code name} (shown in /proc/PID/fd) of {@code size} bytes; the caller owns it. */
    public static int create(String name, long size, int flags) throws LinuxException {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocateFrom(name, StandardCharsets.UTF_8);
            fd = (int) Libc.call(
                    "memfd_create", "\"" + name + "\", flags=" + flags, st -> (int) MEMFD_CREATE.invokeExact(st, n, flags));
        }
        try {
            Libc.call("ftruncate", "fd=" + fd + ", " + size, st -> (int) FTRUNCATE.invokeExact(st, fd, size));
            return fd;
        } catch (LinuxException e) {
            FileDescriptors.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Adds {@code seals} ({@code F_SEAL_*}) to a memfd created with {@link #MFD_ALLOW_SEALING}. A receiver that
     * maps a memfd from another process checks {@link #seals} first: without {@code F_SEAL_SHRINK} the sender could
     * truncate the file under the mapping, and the next access would kill the receiver with SIGBUS.
     */
    public static void addSeals(int fd, int seals) throws LinuxException {
        Libc.call("fcntl", "fd=" + fd + ", F_ADD_SEALS, " + seals, st -> (int) FCNTL.invokeExact(st, fd, F_ADD_SEALS, seals));
    }

    /** The seals of {@code fd} ({@code F_GET_SEALS}); EINVAL for a descriptor that is not a memfd. */
    public static int seals(int fd) throws LinuxException {
        return (int) Libc.call("fcntl", "fd=" + fd + ", F_GET_SEALS", st -> (int) FCNTL.invokeExact(st, fd, F_GET_SEALS, 0));
    }
}
