package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** {@code socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)}: two connected descriptors to hand to two processes. */
public final class SocketPair {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final MethodHandle SOCKETPAIR = Libc.downcall("socketpair",
            FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_POINTER));

    private SocketPair() {}

    /** A connected pair of stream sockets, close-on-exec; the caller owns both. */
    public static int[] stream() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            Libc.call("socketpair", "AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC",
                    st -> (int) SOCKETPAIR.invokeExact(st, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }
}
