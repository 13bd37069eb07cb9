package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's user and group ids, changed through glibc's wrappers — never the raw system calls.
 *
 * <p>The kernel keeps credentials per thread: the raw {@code setresuid} system call changes only the calling
 * thread, which in a JVM would leave the GC, compiler and every other thread as root. glibc's
 * {@code setresuid}, {@code setresgid} and {@code setgroups} apply the change to every thread of the process (nptl
 * signals each thread to make the same call: the "setxid" broadcast), which is why these bindings go through libc.
 * Changing all of real, effective and saved uid away from 0 also clears the permitted, effective and ambient
 * capabilities of each thread; the bounding set and the inheritable set are not touched by a uid change (see
 * {@link #dropBoundingSetOfCallingThread}).
 *
 * <p>Thread-safe (stateless); the setters are process-wide, irreversible once root is given up.
 */
public final class Credentials {
    private static final MethodHandle SETGROUPS =
            Libc.downcall("setgroups", FunctionDescriptor.of(Libc.C_INT, Libc.C_LONG, Libc.C_POINTER));
    private static final MethodHandle SETRESUID =
            Libc.downcall("setresuid", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle SETRESGID =
            Libc.downcall("setresgid", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));

    private Credentials() {}

    /** {@code setgroups(2)} through glibc (every thread): the supplementary groups become exactly {@code gids}. */
    public static void setGroups(int... gids) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment list = arena.allocate(ValueLayout.JAVA_INT, Math.max(1, gids.length));
            for (int i = 0; i < gids.length; i++) {
                list.setAtIndex(ValueLayout.JAVA_INT, i, gids[i]);
            }
            long n = gids.length;
            Libc.call("setgroups", "size=" + n + ", " + java.util.Arrays.toString(gids),
                    st -> (int) SETGROUPS.invokeExact(st, n, list));
        }
    }

    /** {@code setresgid(gid, gid, gid)} through glibc (every thread). */
    public static void setAllGids(int gid) throws LinuxException {
        Libc.call("setresgid", gid + ", " + gid + ", " + gid, st -> (int) SETRESGID.invokeExact(st, gid, gid, gid));
    }

    /** {@code setresuid(uid, uid, uid)} through glibc (every thread). */
    public static void setAllUids(int uid) throws LinuxException {
        Libc.call("setresuid", uid + ", " + uid + ", " + uid, st -> (int) SETRESUID.invokeExact(st, uid, uid, uid));
    }

    /**
     * Drops every capability from the calling thread's bounding set ({@code PR_CAPBSET_DROP} 0 ..
     * {@code /proc/sys/kernel/cap_last_cap}); needs CAP_SETPCAP. Per thread: other threads keep theirs, and a
     * thread created later inherits its creator's. The calling thread's set is what an {@code execve} from it
     * passes on to the new program, the only way for a JVM to give all its threads an empty bounding set.
     */
    public static void dropBoundingSetOfCallingThread() throws LinuxException {
        int last = CapabilitySet.CAP_LAST_CAP;
        try {
            // not Files.readString: it trusts the size procfs reports and returned "4" for "40\n" here
            last = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/cap_last_cap")).getFirst().trim());
        } catch (IOException | NumberFormatException e) {
            // an old /proc: the compiled-in highest capability
        }
        for (int cap = 0; cap <= last; cap++) {
            Prctl.dropBoundingCapability(cap);
        }
    }

    /** The real, effective, saved and file-system uids of every thread, from {@code /proc/self/task/* /status}. */
    public static java.util.Map<String, String> uidsByThread() throws IOException {
        java.util.Map<String, String> uids = new java.util.TreeMap<>();
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("Uid:")) {
                            uids.put(task.getFileName().toString(), line.substring(4).trim());
                        }
                    }
                } catch (java.nio.file.NoSuchFileException ended) {
                    // the thread ended while we looked
                }
            }
        }
        return uids;
    }
}
