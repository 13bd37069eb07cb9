package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * TCP listening sockets as raw file descriptors, so they can be handed to other processes with
 * SCM_RIGHTS and adopted there by an epoll transport.
 *
 * <p>{@link #bind} creates the socket with {@code SOCK_NONBLOCK | SOCK_CLOEXEC}, sets
 * {@code SO_REUSEADDR}, binds and listens. Non-blocking because O_NONBLOCK lives on the open file
 * description that every process holding the socket shares, and event loops (Netty epoll) need it. The caller owns the returned fd and closes it with {@link FileDescriptors#close(int)}.
 * Never {@code shutdown()} a shared listener: that stops listening for every process holding it.
 */
public final class ListenSocket {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_REUSEADDR = 2;
    private static final int SO_ACCEPTCONN = 30;
    private static final int SO_DOMAIN = 39;
    private static final int IPPROTO_IPV6 = 41;
    private static final int IPV6_V6ONLY = 26;
    private static final int SOCKADDR_STORAGE = 128;

    private static final ValueLayout.OfShort NET_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private static final MethodHandle SOCKET =
            Libc.downcall("socket", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle SETSOCKOPT = Libc.downcall(
            "setsockopt",
            FunctionDescriptor.of(
                    Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_POINTER, Libc.C_INT));
    private static final MethodHandle GETSOCKOPT = Libc.downcall(
            "getsockopt",
            FunctionDescriptor.of(
                    Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER));
    private static final MethodHandle BIND =
            Libc.downcall("bind", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_POINTER, Libc.C_INT));
    private static final MethodHandle LISTEN =
            Libc.downcall("listen", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_INT));
    private static final MethodHandle GETSOCKNAME = Libc.downcall(
            "getsockname", FunctionDescriptor.of(Libc.C_INT, Libc.C_INT, Libc.C_POINTER, Libc.C_POINTER));

    private ListenSocket() {}

    /**
     * Creates, binds and listens on a TCP socket.
     *
     * @param address host and port; port 0 picks a free port (read it back with {@link #localAddress})
     * @param backlog the accept queue length passed to {@code listen(2)} (the kernel caps it at somaxconn)
     * @return the listening fd, owned by the caller
     * @throws LinuxException naming the failing step, e.g. {@code bind(...) failed: EADDRINUSE}
     */
    public static int bind(InetSocketAddress address, int backlog) throws LinuxException {
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("address=" + address + " is unresolved");
        }
        if (backlog < 1) {
            throw new IllegalArgumentException("backlog=" + backlog + " must be at least 1");
        }
        InetAddress ip = address.getAddress();
        int family = ip instanceof Inet6Address ? AF_INET6 : AF_INET;
        int fd = (int) Libc.call(
                "socket",
                (family == AF_INET ? "AF_INET" : "AF_INET6") + ", SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0",
                st -> (int) SOCKET.invokeExact(st, family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        try (Arena arena = Arena.ofConfined()) {
            setIntOption(arena, fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
            if (family == AF_INET6 && !ip.isAnyLocalAddress()) {
                setIntOption(arena, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
            }
            MemorySegment sockaddr = arena.allocate(SOCKADDR_STORAGE, 8);
            int length = encode(sockaddr, ip, address.getPort());
            Libc.call(
                    "bind",
                    "fd=" + fd + ", " + format(address),
                    st -> (int) BIND.invokeExact(st, fd, sockaddr, length));
            Libc.call(
                    "listen",
                    "fd=" + fd + ", backlog=" + backlog,
                    st -> (int) LISTEN.invokeExact(st, fd, backlog));
            return fd;
        } catch (LinuxException | RuntimeException e) {
            FileDescriptors.closeQuietly(fd);
            throw e;
        }
    }

    /** The address {@code fd} is bound to ({@code getsockname(2)}). */
    public static InetSocketAddress localAddress(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sockaddr = arena.allocate(SOCKADDR_STORAGE, 8);
            MemorySegment length = arena.allocate(Libc.C_INT);
            length.set(Libc.C_INT, 0, SOCKADDR_STORAGE);
            Libc.call("getsockname", "fd=" + fd, st -> (int) GETSOCKNAME.invokeExact(st, fd, sockaddr, length));
            return decode(sockaddr);
        }
    }

    /** True when {@code fd} is a socket in the listening state ({@code SO_ACCEPTCONN}). */
    public static boolean isListening(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            return getIntOption(arena, fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN") != 0;
        }
    }

    /** True when {@code fd} is an AF_INET or AF_INET6 socket. */
    public static boolean isInetSocket(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            int domain = getIntOption(arena, fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
            return domain == AF_INET || domain == AF_INET6;
        }
    }

    private static void setIntOption(Arena arena, int fd, int level, int option, int value, String name)
            throws LinuxException {
        MemorySegment v = arena.allocate(Libc.C_INT);
        v.set(Libc.C_INT, 0, value);
        Libc.call(
                "setsockopt",
                "fd=" + fd + ", " + name + ", " + value,
                st -> (int) SETSOCKOPT.invokeExact(st, fd, level, option, v, (int) Libc.C_INT.byteSize()));
    }

    private static int getIntOption(Arena arena, int fd, int level, int option, String name)
            throws LinuxException {
        MemorySegment v = arena.allocate(Libc.C_INT);
        MemorySegment len = arena.allocate(Libc.C_INT);
        len.set(Libc.C_INT, 0, (int) Libc.C_INT.byteSize());
        Libc.call("getsockopt", "fd=" + fd + ", " + name, st -> (int) GETSOCKOPT.invokeExact(st, fd, level, option, v, len));
        return v.get(Libc.C_INT, 0);
    }

    private static int encode(MemorySegment sa, InetAddress ip, int port) {
        if (ip instanceof Inet4Address) {
            sa.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
            sa.set(NET_SHORT, 2, (short) port);
            MemorySegment.copy(MemorySegment.ofArray(ip.getAddress()), 0, sa, 4, 4);
            return 16;
        }
        Inet6Address ip6 = (Inet6Address) ip;
        sa.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET6);
        sa.set(NET_SHORT, 2, (short) port);
        MemorySegment.copy(MemorySegment.ofArray(ip6.getAddress()), 0, sa, 8, 16);
        sa.set(ValueLayout.JAVA_INT_UNALIGNED, 24, ip6.getScopeId());
        return 28;
    }

    private static InetSocketAddress decode(MemorySegment sa) {
        int family = sa.get(ValueLayout.JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(sa.get(NET_SHORT, 2));
        byte[] bytes = family == AF_INET
                ? sa.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE)
                : sa.asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("kernel returned a malformed address family=" + family, e);
        }
    }

    private static String format(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (a.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
