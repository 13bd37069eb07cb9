package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * Files only this process's user may touch, opened so that nobody else can substitute them: {@code O_NOFOLLOW}
 * (a planted symlink fails with ELOOP instead of redirecting the open), mode 0600 on creation, and the owner and
 * mode checked on the descriptor after opening (through {@code /proc/self/fd/N}, which is the opened inode, not
 * the name, so there is no window between the check and the use).
 *
 * <p>Thread-safe (stateless).
 */
public final class PrivateFiles {
    static final int O_RDWR = 02;
    static final int O_CREAT = 0100;
    static final int O_NOFOLLOW = 0400000;
    static final int O_CLOEXEC = 02000000;

    private static final MethodHandle OPEN = Libc.downcallVariadic(
            "open", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_INT, Libc.C_INT), 2);
    private static final MethodHandle GETEUID = Libc.downcall("geteuid", FunctionDescriptor.of(Libc.C_INT));

    private PrivateFiles() {}

    /**
     * Opens {@code path} read-write, creating it with mode 0600 when missing ({@code O_CREAT|O_NOFOLLOW|O_CLOEXEC}),
     * and checks that it is a regular file owned by this process's effective uid with no group or other access.
     * The caller owns the returned descriptor.
     *
     * @throws LinuxException when open(2) fails (ELOOP: {@code path} is a symlink)
     * @throws IOException when the opened file is not private to this user; the descriptor is closed
     */
    public static int openOrCreate(Path path) throws IOException {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(path.toString(), StandardCharsets.UTF_8);
            int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
            fd = (int) Libc.call("open", "\"" + path + "\", O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0600",
                    st -> (int) OPEN.invokeExact(st, name, flags, 0600));
        }
        try {
            Map<String, Object> a = Files.readAttributes(Path.of("/proc/self/fd/" + fd), "unix:uid,mode,nlink");
            int mode = (Integer) a.get("mode");
            int uid = (Integer) a.get("uid");
            String problem = (mode & 0170000) != 0100000 ? "is not a regular file"
                    : uid != effectiveUid() ? "is owned by uid " + uid + ", not by this process's uid " + effectiveUid()
                    : (mode & 077) != 0 ? "has mode " + Integer.toOctalString(mode & 07777) + ", not 0600"
                    : (Integer) a.get("nlink") != 1 ? "has " + a.get("nlink") + " hard links (one is expected)"
                    : null;
            if (problem != null) {
                throw new IOException(path + " " + problem + ": someone else made or changed it; remove it and check who"
                        + " can write to " + path.getParent());
            }
            return fd;
        } catch (IOException | RuntimeException e) {
            FileDescriptors.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Checks that {@code dir} is a directory (not a symlink to one) owned by this process's effective uid with
     * mode 0700.
     *
     * @throws IOException saying what is wrong and what to do
     */
    public static void checkPrivateDirectory(Path dir) throws IOException {
        Map<String, Object> a = Files.readAttributes(dir, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int uid = (Integer) a.get("uid");
        if ((mode & 0170000) != 0040000) {
            throw new IOException(dir + " is not a directory (a symlink?): use a real directory as the run dir");
        }
        if (uid != effectiveUid()) {
            throw new IOException(dir + " is owned by uid " + uid + ", not by this process's uid " + effectiveUid()
                    + ": chown it, or choose another run dir");
        }
        if ((mode & 0777) != 0700) {
            throw new IOException(dir + " has mode " + Integer.toOctalString(mode & 0777) + ", not 0700: chmod 700 it");
        }
    }

    /** The {@code (st_dev, st_ino)} of the file open as {@code fd}, to tell whether a name still refers to it. */
    public static String identity(int fd) throws IOException {
        return identity(Path.of("/proc/self/fd/" + fd), true);
    }

    /** The {@code (st_dev, st_ino)} of {@code path} itself (a symlink is not followed). */
    public static String identity(Path path) throws IOException {
        return identity(path, false);
    }

    private static String identity(Path path, boolean follow) throws IOException {
        Map<String, Object> a = follow ? Files.readAttributes(path, "unix:dev,ino")
                : Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
        return a.get("dev") + ":" + a.get("ino");
    }

    /** {@code geteuid(2)}: this process's effective uid (it cannot fail). */
    public static int effectiveUid() {
        try {
            return (int) Libc.call("geteuid", "", st -> (int) GETEUID.invokeExact(st));
        } catch (LinuxException e) {
            throw new IllegalStateException(e);
        }
    }
}
