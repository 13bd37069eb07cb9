package dev.shmesh.linux.internal;

import dev.shmesh.linux.Errno;
import dev.shmesh.linux.LinuxException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one place that looks up libc symbols and reads errno.
 *
 * <p>Every downcall is linked with {@code captureCallState("errno")}: the handle takes a leading
 * {@link MemorySegment} into which the JVM copies errno right after the call, before any other
 * code (GC, class loading) can clobber it. Use {@link #call} so that EINTR is retried here and
 * nowhere else.
 */
public final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** C {@code int}. */
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    /** C {@code long} on LP64. */
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    /** C pointer. */
    public static final ValueLayout C_POINTER = ValueLayout.ADDRESS;

    private Libc() {}

    /** Links libc's {@code name} with errno capture; the handle's first parameter is the call-state segment. */
    @SuppressWarnings("restricted") // native access is enabled for every shmesh JVM by jvm.options
    public static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup()
                .find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO);
    }

    /**
     * Links a variadic libc function ({@code prctl}, {@code syscall}) with errno capture; parameters from
     * index {@code firstVariadic} on are passed as variadic arguments (C default promotions apply).
     */
    @SuppressWarnings("restricted") // native access is enabled for every shmesh JVM by jvm.options
    public static MethodHandle downcallVariadic(String name, FunctionDescriptor descriptor, int firstVariadic) {
        MemorySegment symbol = LINKER.defaultLookup()
                .find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic));
    }

    /** A function that performs one native call given a fresh call-state segment. */
    @FunctionalInterface
    public interface NativeCall {
        long invoke(MemorySegment callState) throws Throwable;
    }

    /** Allocates a call-state segment in {@code arena}. */
    public static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    /** Reads errno from a call-state segment. */
    public static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    /**
     * Runs {@code call}, retrying on EINTR; returns its non-negative result or throws a
     * {@link LinuxException} naming {@code syscall} and {@code arguments}.
     */
    public static long call(String syscall, String arguments, NativeCall call) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            while (true) {
                long result;
                try {
                    result = call.invoke(state);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IllegalStateException("native call " + syscall + " threw", t);
                }
                if (result >= 0) {
                    return result;
                }
                int errno = errno(state);
                if (errno != Errno.EINTR) {
                    throw new LinuxException(syscall, arguments, errno);
                }
            }
        }
    }
}
