package dev.shmesh.linux;

/**
 * {@code pidfd_open(2)} and {@code pidfd_send_signal(2)}: a process handle that cannot be confused with a
 * recycled pid. The caller owns the returned fd.
 */
public final class PidFd {
    private static final int NR_PIDFD_OPEN = SyscallTable.require("pidfd_open");
    private static final int NR_PIDFD_SEND_SIGNAL = SyscallTable.require("pidfd_send_signal");

    private PidFd() {}

    /** A pidfd for {@code pid} (close-on-exec is always set by the kernel). */
    public static int open(long pid) throws LinuxException {
        return (int) RawSyscall.call("pidfd_open", "pid=" + pid + ", 0", NR_PIDFD_OPEN, pid, 0);
    }

    /** Sends {@code signal} to the process behind {@code pidfd}. */
    public static void sendSignal(int pidfd, int signal) throws LinuxException {
        RawSyscall.call("pidfd_send_signal", "pidfd=" + pidfd + ", " + signal, NR_PIDFD_SEND_SIGNAL, pidfd, signal, 0, 0);
    }
}
