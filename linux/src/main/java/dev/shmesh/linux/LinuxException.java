package dev.shmesh.linux;

import java.io.IOException;

/**
 * A failed system call: names the call, its arguments and the errno.
 *
 * <p>Message form: {@code bind(fd=7, 127.0.0.1:80) failed: EACCES (errno 13)}.
 */
public final class LinuxException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final int errno;

    public LinuxException(String syscall, String arguments, int errno) {
        super(syscall + "(" + arguments + ") failed: " + Errno.name(errno) + " (errno " + errno + ")");
        this.syscall = syscall;
        this.errno = errno;
    }

    /** The system call that failed, e.g. {@code bind}. */
    public String syscall() {
        return syscall;
    }

    /** The errno it returned. */
    public int errno() {
        return errno;
    }
}
