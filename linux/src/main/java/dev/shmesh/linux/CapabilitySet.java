package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The calling thread's capability sets, as read by {@code capget(2)} and written by {@code capset(2)}
 * (64-bit masks, {@code _LINUX_CAPABILITY_VERSION_3}).
 *
 * <p>Capabilities are per-thread: {@link #clearCalling()} only affects the calling thread, which is why the
 * launcher (bwrap {@code --cap-drop ALL}) drops them before the JVM starts its threads.
 */
public record CapabilitySet(long effective, long permitted, long inheritable) {
    private static final int VERSION_3 = 0x20080522;

    /** Capability numbers used by shmesh. */
    public static final int CAP_NET_BIND_SERVICE = 10;
    public static final int CAP_SYS_ADMIN = 21;
    /** The highest capability of kernel 6.x (CAP_CHECKPOINT_RESTORE). */
    public static final int CAP_LAST_CAP = 40;

    private static final MethodHandle CAPGET =
            Libc.downcall("capget", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER));
    private static final MethodHandle CAPSET =
            Libc.downcall("capset", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER));

    /** The empty set. */
    public static final CapabilitySet NONE = new CapabilitySet(0, 0, 0);

    /** The calling thread's sets. */
    public static CapabilitySet ofCallingThread() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = header(arena);
            MemorySegment data = arena.allocate(24, 4); // two __user_cap_data_struct {effective, permitted, inheritable}
            Libc.call("capget", "_LINUX_CAPABILITY_VERSION_3, pid=0", st -> (int) CAPGET.invokeExact(st, header, data));
            return new CapabilitySet(
                    join(data, 0), join(data, 4), join(data, 8));
        }
    }

    /** Replaces the calling thread's sets with this one (only ever a reduction without CAP_SETPCAP). */
    public void applyToCallingThread() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = header(arena);
            MemorySegment data = arena.allocate(24, 4);
            split(data, 0, effective);
            split(data, 4, permitted);
            split(data, 8, inheritable);
            Libc.call("capset", this.toString(), st -> (int) CAPSET.invokeExact(st, header, data));
        }
    }

    /** Clears every set of the calling thread. */
    public static void clearCalling() throws LinuxException {
        NONE.applyToCallingThread();
    }

    /** Whether {@code capability} is effective. */
    public boolean hasEffective(int capability) {
        return (effective & (1L << capability)) != 0;
    }

    private static MemorySegment header(Arena arena) {
        MemorySegment h = arena.allocate(8, 4); // __user_cap_header_struct {version, pid}
        h.set(ValueLayout.JAVA_INT, 0, VERSION_3);
        h.set(ValueLayout.JAVA_INT, 4, 0);
        return h;
    }

    private static long join(MemorySegment data, long offset) {
        long lo = Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, offset));
        long hi = Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, offset + 12));
        return lo | hi << 32;
    }

    private static void split(MemorySegment data, long offset, long mask) {
        data.set(ValueLayout.JAVA_INT, offset, (int) mask);
        data.set(ValueLayout.JAVA_INT, offset + 12, (int) (mask >>> 32));
    }

    @Override
    public String toString() {
        return String.format("CapabilitySet[eff=%016x, prm=%016x, inh=%016x]", effective, permitted, inheritable);
    }
}
