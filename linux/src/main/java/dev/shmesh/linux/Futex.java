package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code futex(2)} on a 32-bit word inside a {@link MemorySegment}, in its <em>shared</em> form (no
 * {@code FUTEX_PRIVATE_FLAG}): the kernel keys the wait queue on the backing file and offset, so a
 * process that maps the same {@code /dev/shm} object, at any address, waits and wakes on the same word.
 *
 * <p>Called as {@code syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3)} through glibc's variadic
 * {@code syscall}. Addresses are passed as integers (same register class as pointers in the variadic
 * ABI), so neither call allocates after a thread's first call. Thread-safe.
 */
public final class Futex {
    /** {@link #await}: woken by {@link #wake} (or spuriously — callers always recheck their condition). */
    public static final int WOKEN = 0;
    /** {@link #await}: the word did not hold the expected value (EAGAIN); nothing to wait for. */
    public static final int VALUE_CHANGED = 1;
    /** {@link #await}: the timeout elapsed (ETIMEDOUT). */
    public static final int TIMED_OUT = 2;
    /** {@link #await}: a signal interrupted the wait (EINTR); not retried, the caller rechecks. */
    public static final int INTERRUPTED = 3;

    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    private static final long SYS_FUTEX = sysFutex();

    private static final int CALL_STATE_BYTES = 64;
    private static final long TIMESPEC_OFFSET = 64;

    // long syscall(long number, ...) — everything after the number is variadic
    private static final MethodHandle SYSCALL = link();

    /** Per thread: errno call state at 0, a {@code struct timespec} at 64. Lives as long as the thread. */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(TIMESPEC_OFFSET + 16, 16));

    private Futex() {}

    @SuppressWarnings("restricted") // native access is enabled for every shmesh JVM by jvm.options
    private static MethodHandle link() {
        Linker linker = Linker.nativeLinker();
        MemorySegment symbol = linker.defaultLookup()
                .find("syscall")
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol syscall"));
        if (Linker.Option.captureStateLayout().byteSize() > CALL_STATE_BYTES) {
            throw new IllegalStateException("call state layout larger than " + CALL_STATE_BYTES + " bytes");
        }
        FunctionDescriptor fd = FunctionDescriptor.of(
                ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, // nr
                ValueLayout.JAVA_LONG, // uaddr
                ValueLayout.JAVA_INT, // futex_op
                ValueLayout.JAVA_INT, // val
                ValueLayout.JAVA_LONG, // timeout (struct timespec *) or 0
                ValueLayout.JAVA_LONG, // uaddr2
                ValueLayout.JAVA_INT); // val3
        return linker.downcallHandle(
                symbol, fd, Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    private static long sysFutex() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 202;
            case "aarch64" -> 98;
            default -> -1;
        };
    }

    /**
     * {@code FUTEX_WAIT}: sleeps while the int at {@code offset} equals {@code expected}, at most
     * {@code timeoutNanos} (negative: no timeout). The compare and the sleep are atomic in the kernel,
     * so a {@link #wake} after the word changed is never lost.
     *
     * @return {@link #WOKEN}, {@link #VALUE_CHANGED}, {@link #TIMED_OUT} or {@link #INTERRUPTED}
     * @throws LinuxException for any other errno (EFAULT, EINVAL, ENOSYS)
     */
    public static int await(MemorySegment segment, long offset, int expected, long timeoutNanos)
            throws LinuxException {
        long address = address(segment, offset);
        MemorySegment scratch = SCRATCH.get();
        long timeout = 0;
        if (timeoutNanos >= 0) {
            scratch.set(ValueLayout.JAVA_LONG, TIMESPEC_OFFSET, timeoutNanos / 1_000_000_000L);
            scratch.set(ValueLayout.JAVA_LONG, TIMESPEC_OFFSET + 8, timeoutNanos % 1_000_000_000L);
            timeout = scratch.address() + TIMESPEC_OFFSET;
        }
        long rc;
        try {
            rc = (long) SYSCALL.invokeExact(scratch, SYS_FUTEX, address, FUTEX_WAIT, expected, timeout, 0L, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("futex(FUTEX_WAIT) threw", t);
        }
        if (rc == 0) {
            return WOKEN;
        }
        int errno = Libc.errno(scratch);
        return switch (errno) {
            case Errno.EAGAIN -> VALUE_CHANGED;
            case Errno.ETIMEDOUT -> TIMED_OUT;
            case Errno.EINTR -> INTERRUPTED;
            default -> throw new LinuxException(
                    "futex",
                    "uaddr=0x" + Long.toHexString(address) + ", FUTEX_WAIT, val=" + expected + ", timeoutNanos="
                            + timeoutNanos,
                    errno);
        };
    }

    /**
     * {@code FUTEX_WAKE}: wakes at most {@code count} waiters on the int at {@code offset}
     * ({@link Integer#MAX_VALUE} for all).
     *
     * @return the number of waiters woken
     */
    public static int wake(MemorySegment segment, long offset, int count) throws LinuxException {
        long address = address(segment, offset);
        MemorySegment scratch = SCRATCH.get();
        long rc;
        try {
            rc = (long) SYSCALL.invokeExact(scratch, SYS_FUTEX, address, FUTEX_WAKE, count, 0L, 0L, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("futex(FUTEX_WAKE) threw", t);
        }
        if (rc < 0) {
            throw new LinuxException(
                    "futex", "uaddr=0x" + Long.toHexString(address) + ", FUTEX_WAKE, val=" + count, Libc.errno(scratch));
        }
        return (int) rc;
    }

    private static long address(MemorySegment segment, long offset) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment=" + segment + " is not native memory");
        }
        if (offset < 0 || offset > segment.byteSize() - 4 || ((segment.address() + offset) & 3) != 0) {
            throw new IllegalArgumentException(
                    "offset=" + offset + " is not an aligned int inside segment of " + segment.byteSize() + " bytes");
        }
        if (SYS_FUTEX < 0) {
            throw new UnsupportedOperationException("futex: unknown syscall number for os.arch="
                    + System.getProperty("os.arch"));
        }
        return segment.address() + offset;
    }
}
