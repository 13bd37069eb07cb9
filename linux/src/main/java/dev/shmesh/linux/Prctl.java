package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * {@code prctl(2)} operations the sandbox needs.
 *
 * <p>Most of these are per-thread attributes: {@link #setNoNewPrivs()} and {@link #setName} affect only
 * the calling thread (seccomp's TSYNC later copies no_new_privs to every thread), while
 * {@link #dropBoundingCapability} affects only the calling thread's bounding set — which is why the
 * launcher, not the JVM, drops capabilities.
 */
public final class Prctl {
    static final int PR_SET_PDEATHSIG = 1;
    static final int PR_SET_DUMPABLE = 4;
    static final int PR_SET_NAME = 15;
    static final int PR_GET_SECCOMP = 21;
    static final int PR_CAPBSET_READ = 23;
    static final int PR_CAPBSET_DROP = 24;
    static final int PR_SET_NO_NEW_PRIVS = 38;
    static final int PR_GET_NO_NEW_PRIVS = 39;

    private static final MethodHandle PRCTL = Libc.downcallVariadic(
            "prctl",
            FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_LONG, Libc.C_LONG, Libc.C_LONG, Libc.C_LONG),
            1);

    private Prctl() {}

    private static int prctl(String what, int option, long a2) throws LinuxException {
        return (int) Libc.call("prctl", what, st -> (int) PRCTL.invokeExact(st, option, a2, 0L, 0L, 0L));
    }

    /** {@code prctl(PR_SET_NO_NEW_PRIVS, 1)}: execve can no longer grant privileges (setuid bits, file caps). Irreversible. */
    public static void setNoNewPrivs() throws LinuxException {
        prctl("PR_SET_NO_NEW_PRIVS, 1", PR_SET_NO_NEW_PRIVS, 1L);
    }

    /** {@code prctl(PR_GET_NO_NEW_PRIVS)} for the calling thread. */
    public static boolean noNewPrivs() throws LinuxException {
        return prctl("PR_GET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS, 0L) == 1;
    }

    /**
     * {@code prctl(PR_SET_DUMPABLE, 0|1)} for the whole process: not dumpable means no core dump, and processes of
     * the same uid without CAP_SYS_PTRACE can neither ptrace it nor read its memory or environment through /proc.
     * execve resets it.
     */
    public static void setDumpable(boolean dumpable) throws LinuxException {
        prctl("PR_SET_DUMPABLE, " + (dumpable ? 1 : 0), PR_SET_DUMPABLE, dumpable ? 1L : 0L);
    }

    /** {@code prctl(PR_CAPBSET_DROP, cap)}: needs CAP_SETPCAP in the thread's user namespace. */
    public static void dropBoundingCapability(int capability) throws LinuxException {
        prctl("PR_CAPBSET_DROP, " + capability, PR_CAPBSET_DROP, capability);
    }

    /** {@code prctl(PR_CAPBSET_READ, cap)}: whether {@code capability} is in the calling thread's bounding set. */
    public static boolean inBoundingSet(int capability) throws LinuxException {
        return prctl("PR_CAPBSET_READ, " + capability, PR_CAPBSET_READ, capability) == 1;
    }

    /** {@code prctl(PR_SET_PDEATHSIG, signal)}: the calling thread's parent dying sends {@code signal}. */
    public static void setParentDeathSignal(int signal) throws LinuxException {
        prctl("PR_SET_PDEATHSIG, " + signal, PR_SET_PDEATHSIG, signal);
    }

    /** {@code prctl(PR_GET_SECCOMP)}: 0 disabled, 2 filter (a thread in strict mode 1 would be killed by this call). */
    public static int seccompMode() throws LinuxException {
        return prctl("PR_GET_SECCOMP", PR_GET_SECCOMP, 0L);
    }

    /** {@code prctl(PR_SET_NAME, name)}: the calling thread's name, truncated by the kernel to 15 bytes. */
    public static void setName(String name) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(name, StandardCharsets.UTF_8);
            Libc.call(
                    "prctl",
                    "PR_SET_NAME, \"" + name + "\"",
                    st -> (int) PRCTL.invokeExact(st, PR_SET_NAME, s.address(), 0L, 0L, 0L));
        }
    }
}
