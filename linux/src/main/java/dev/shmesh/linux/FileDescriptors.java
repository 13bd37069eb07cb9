package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/** Raw file-descriptor operations: {@code dup(2)} with close-on-exec, {@code close(2)}. */
public final class FileDescriptors {
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 0x800;
    private static final int F_DUPFD_CLOEXEC = 1030;

    private static final MethodHandle FCNTL =
            Libc.downcall("fcntl", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle CLOSE =
            Libc.downcall("close", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT));

    private FileDescriptors() {}

    /**
     * Duplicates {@code fd} with close-on-exec set; the caller owns the copy. The two descriptors
     * share one open file description: closing one leaves the other (and the socket) open.
     */
    public static int dupCloexec(int fd) throws LinuxException {
        return (int) Libc.call(
                "fcntl", "fd=" + fd + ", F_DUPFD_CLOEXEC, 0", st -> (int) FCNTL.invokeExact(st, fd, F_DUPFD_CLOEXEC, 0));
    }

    /**
     * Sets O_NONBLOCK on {@code fd}'s open file description: every process sharing it (through
     * SCM_RIGHTS or fork) sees the change.
     */
    public static void setNonBlocking(int fd) throws LinuxException {
        int flags = (int) Libc.call("fcntl", "fd=" + fd + ", F_GETFL", st -> (int) FCNTL.invokeExact(st, fd, F_GETFL, 0));
        if ((flags & O_NONBLOCK) == 0) {
            Libc.call("fcntl", "fd=" + fd + ", F_SETFL, O_NONBLOCK",
                    st -> (int) FCNTL.invokeExact(st, fd, F_SETFL, flags | O_NONBLOCK));
        }
    }

    /** True when O_NONBLOCK is set on {@code fd}. */
    public static boolean isNonBlocking(int fd) throws LinuxException {
        int flags = (int) Libc.call("fcntl", "fd=" + fd + ", F_GETFL", st -> (int) FCNTL.invokeExact(st, fd, F_GETFL, 0));
        return (flags & O_NONBLOCK) != 0;
    }

    /** Closes {@code fd}. EINTR is not retried: on Linux the fd is released even then. */
    public static void close(int fd) throws LinuxException {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var state = Libc.callState(arena);
            int rc;
            try {
                rc = (int) CLOSE.invokeExact(state, fd);
            } catch (Throwable t) {
                throw new IllegalStateException("close(" + fd + ") threw", t);
            }
            int errno = Libc.errno(state);
            if (rc < 0 && errno != Errno.EINTR) {
                throw new LinuxException("close", "fd=" + fd, errno);
            }
        }
    }

    /**
     * Closes received descriptors nobody will use (fds a peer should not have sent, or more than
     * expected), ignoring errors. JDK only: a {@link java.io.FileInputStream} over each closes it.
     */
    public static void closeAll(java.io.FileDescriptor... fds) {
        if (fds == null) {
            return;
        }
        for (java.io.FileDescriptor fd : fds) {
            if (fd == null || !fd.valid()) {
                continue;
            }
            try {
                new java.io.FileInputStream(fd).close();
            } catch (java.io.IOException ignored) {
                // closing what nobody wanted; nothing more to do
            }
        }
    }

    /** Closes {@code fd}, ignoring errors; for cleanup paths that already report another failure. */
    public static void closeQuietly(int fd) {
        try {
            close(fd);
        } catch (LinuxException ignored) {
            // already failing: the first error is the one worth reporting
        }
    }
}
