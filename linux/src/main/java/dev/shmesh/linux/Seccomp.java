package dev.shmesh.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code seccomp(2)}: installing a classic-BPF filter program, through {@code syscall(317, ...)}.
 *
 * <p>Order of privilege-relevant steps: the kernel accepts a filter from an unprivileged thread only once
 * that thread has no_new_privs ({@link Prctl#setNoNewPrivs()}); with {@link #FLAG_TSYNC} the filter (and
 * no_new_privs) is applied to every thread of the process atomically, or not at all.
 */
public final class Seccomp {
    public static final int SET_MODE_FILTER = 1;
    public static final int GET_ACTION_AVAIL = 2;
    /** Synchronise all threads of the process to the new filter tree. */
    public static final int FLAG_TSYNC = 1;

    public static final int RET_KILL_PROCESS = 0x80000000;
    public static final int RET_KILL_THREAD = 0x00000000;
    public static final int RET_TRAP = 0x00030000;
    public static final int RET_ERRNO = 0x00050000;
    public static final int RET_LOG = 0x7ffc0000;
    public static final int RET_ALLOW = 0x7fff0000;

    private static final int NR_SECCOMP = SyscallTable.require("seccomp");

    private Seccomp() {}

    /**
     * Installs {@code program} — {@code struct sock_filter} entries, 8 bytes each, native byte order —
     * with {@code flags}. With {@link #FLAG_TSYNC}, a positive return names the thread that could not be
     * synchronised; this method turns that into a {@link LinuxException} ({@code ESRCH} style message).
     */
    public static void setModeFilter(byte[] program, int flags) throws LinuxException {
        if (program.length == 0 || program.length % 8 != 0 || program.length / 8 > 4096) {
            throw new IllegalArgumentException("program.length=" + program.length + " is not 1..4096 instructions");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filter = arena.allocate(program.length, 8);
            MemorySegment.copy(MemorySegment.ofArray(program), 0, filter, 0, program.length);
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            MemorySegment fprog = arena.allocate(16, 8);
            fprog.set(ValueLayout.JAVA_SHORT, 0, (short) (program.length / 8));
            fprog.set(ValueLayout.ADDRESS, 8, filter);
            String args = "SECCOMP_SET_MODE_FILTER, flags=" + flags + ", len=" + program.length / 8;
            long rc = RawSyscall.call("seccomp", args, NR_SECCOMP, SET_MODE_FILTER, flags, fprog.address());
            if (rc > 0) {
                throw new LinuxException("seccomp", args + " (thread " + rc + " could not be synchronised)", Errno.ESRCH);
            }
        }
    }

    /**
     * Whether this kernel accepts {@code SECCOMP_SET_MODE_FILTER} with {@link #FLAG_TSYNC}, tested without
     * installing anything: a NULL program yields EFAULT when the mode and flag are known, EINVAL when not,
     * EPERM/ENOSYS when a container's own seccomp profile forbids seccomp().
     *
     * @return 0 when available, else the errno that says why not
     */
    public static int probeTsync() {
        RawSyscall.Outcome o = RawSyscall.invoke(NR_SECCOMP, SET_MODE_FILTER, FLAG_TSYNC, 0L);
        if (o.succeeded()) {
            throw new IllegalStateException("seccomp accepted a NULL filter");
        }
        return o.errno() == Errno.EFAULT ? 0 : o.errno();
    }
}
