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
}
