package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Open file description locks: {@code fcntl(fd, F_OFD_SETLK, &flock)} on the whole file (Linux 3.15+).
 *
 * <p>Why not {@code FileChannel.lock()}: the JDK takes classic POSIX record locks ({@code F_SETLK}), which
 * belong to the process, and the kernel drops every one of them the moment the process closes <em>any</em>
 * descriptor of that file — so merely opening and closing one's own lock file a second time (to probe it)
 * silently unlocks it. An OFD lock belongs to the open file description instead: it is released only when
 * the last descriptor of that description is closed (or by {@link #release}), a second {@code open} of the
 * same file is a different description that conflicts with it like another process would, and it survives
 * {@code execve} and a change of uid as long as the descriptor is inherited.
 *
 * <p>Thread-safe (stateless).
 */
public final class OfdLock {
    static final int F_OFD_GETLK = 36;
    static final int F_OFD_SETLK = 37;
    static final short F_RDLCK = 0;
    static final short F_WRLCK = 1;
    static final short F_UNLCK = 2;
    private static final short SEEK_SET = 0;
    /** {@code struct flock} on LP64: l_type, l_whence (short), l_start, l_len (off_t), l_pid (pid_t), padded to 32. */
    private static final long FLOCK_SIZE = 32;

    private static final MethodHandle FCNTL = Libc.downcallVariadic(
            "fcntl", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_POINTER), 2);

    private OfdLock() {}

    /**
     * Tries to lock the whole file open as {@code fd}: exclusive (a write lock; {@code fd} must be open for
     * writing) or shared (a read lock). Does not wait.
     *
     * @return true when taken (or already held through this open file description), false when another
     *     open file description holds a conflicting lock
     * @throws LinuxException for any other failure, e.g. EBADF or EINVAL on a kernel without OFD locks
     */
    public static boolean tryAcquire(int fd, boolean exclusive) throws LinuxException {
        short type = exclusive ? F_WRLCK : F_RDLCK;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = flock(arena, type);
            Libc.call("fcntl", "fd=" + fd + ", F_OFD_SETLK, " + (exclusive ? "F_WRLCK" : "F_RDLCK") + " whole file",
                    st -> (int) FCNTL.invokeExact(st, fd, F_OFD_SETLK, flock));
            return true;
        } catch (LinuxException e) {
            if (e.errno() == Errno.EAGAIN || e.errno() == Errno.EACCES) {
                return false;
            }
            throw e;
        }
    }

    /** Releases this open file description's lock on the file open as {@code fd} (a no-op when there is none). */
    public static void release(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = flock(arena, F_UNLCK);
            Libc.call("fcntl", "fd=" + fd + ", F_OFD_SETLK, F_UNLCK whole file",
                    st -> (int) FCNTL.invokeExact(st, fd, F_OFD_SETLK, flock));
        }
    }

    /**
     * Whether an exclusive lock on the file open as {@code fd} would conflict with a lock held through another
     * open file description ({@code F_OFD_GETLK}); takes nothing.
     */
    public static boolean heldElsewhere(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = flock(arena, F_WRLCK);
            Libc.call("fcntl", "fd=" + fd + ", F_OFD_GETLK, F_WRLCK whole file",
                    st -> (int) FCNTL.invokeExact(st, fd, F_OFD_GETLK, flock));
            return flock.get(ValueLayout.JAVA_SHORT, 0) != F_UNLCK;
        }
    }

    private static MemorySegment flock(Arena arena, short type) {
        MemorySegment flock = arena.allocate(FLOCK_SIZE, 8); // zeroed: l_start = l_len = 0 (whole file), l_pid = 0 (required)
        flock.set(ValueLayout.JAVA_SHORT, 0, type);
        flock.set(ValueLayout.JAVA_SHORT, 2, SEEK_SET);
        return flock;
    }
}
