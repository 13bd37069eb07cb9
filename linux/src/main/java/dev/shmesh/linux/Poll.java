package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code poll(2)} over a set of descriptors: one thread waits for any of them to become readable or hung up.
 * {@code struct pollfd} is {@code {int fd; short events; short revents;}}, 8 bytes.
 */
public final class Poll {
    public static final short POLLIN = 0x001;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    public static final short POLLNVAL = 0x020;
    /** Peer closed its end of a stream socket (or shut down writing). */
    public static final short POLLRDHUP = 0x2000;

    private static final long POLLFD_SIZE = 8;
    private static final MethodHandle POLL =
            Libc.downcall("poll", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_LONG, Libc.C_INT));

    private Poll() {}

    /**
     * Waits until one of {@code fds} has one of {@code events} (POLLHUP, POLLERR and POLLNVAL are always
     * reported), or {@code timeoutMillis} passed ({@code -1}: no limit). EINTR is retried with the full timeout.
     *
     * @return the {@code revents} of each descriptor, in order; all zero on timeout
     */
    public static short[] poll(int[] fds, short events, int timeoutMillis) throws LinuxException {
        short[] revents = new short[fds.length];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(POLLFD_SIZE * Math.max(1, fds.length), 4);
            for (int i = 0; i < fds.length; i++) {
                set.set(ValueLayout.JAVA_INT, i * POLLFD_SIZE, fds[i]);
                set.set(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + 4, events);
            }
            long n = fds.length;
            Libc.call("poll", "nfds=" + n + ", timeout=" + timeoutMillis,
                    st -> (int) POLL.invokeExact(st, set, n, timeoutMillis));
            for (int i = 0; i < fds.length; i++) {
                revents[i] = set.get(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + 6);
            }
        }
        return revents;
    }
}
