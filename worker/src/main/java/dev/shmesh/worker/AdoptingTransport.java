package dev.shmesh.worker;

import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.LinuxException;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.impl.transports.EpollTransport;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.spi.transport.Transport;
import java.net.SocketAddress;
import java.util.concurrent.ThreadFactory;

/**
 * Vert.x's epoll transport, except that a TCP server channel adopts the listening socket the
 * gateway handed us instead of creating and binding one.
 *
 * <p>Each adoption wraps a fresh {@code dup} of the handed fd, so closing a server (a drain, a
 * Vert.x shutdown) closes only that copy: the socket keeps listening in the gateway and in the
 * other workers. The bind that Vert.x issues is swallowed by the first pipeline handler because
 * the socket is bound already — in the gateway's network namespace, which is why a worker in an
 * empty network namespace can still serve. Each accepted connection gets {@link ConnectionLimits}.
 */
final class AdoptingTransport implements Transport {
    private final EpollTransport epoll = new EpollTransport();
    private final dev.shmesh.service.HandedListener listener;

    AdoptingTransport(dev.shmesh.service.HandedListener listener) {
        this.listener = listener;
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
        if (domainSocket) {
            return epoll.serverChannelFactory(true);
        }
        return () -> {
            int fd;
            try {
                // Netty's accept loop needs O_NONBLOCK; a blocking listener would hang the acceptor
                FileDescriptors.setNonBlocking(listener.fd());
                fd = FileDescriptors.dupCloexec(listener.fd());
            } catch (LinuxException e) {
                throw new IllegalStateException(
                        "cannot adopt the handed listener '" + listener.name() + "' (fd " + listener.fd() + "): "
                                + e.getMessage(),
                        e);
            }
            EpollServerSocketChannel channel = new EpollServerSocketChannel(fd);
            channel.pipeline().addFirst("shmesh-adopted-bind", SwallowBind.INSTANCE);
            ChannelHandler limits = ConnectionLimits.acceptor();
            if (limits != null) {
                channel.pipeline().addLast("shmesh-connection-limits", limits);
            }
            return channel;
        };
    }

    /** Completes bind() without a syscall: the adopted socket is bound and listening already. */
    @ChannelHandler.Sharable
    static final class SwallowBind extends ChannelOutboundHandlerAdapter {
        static final SwallowBind INSTANCE = new SwallowBind();

        @Override
        public void bind(ChannelHandlerContext ctx, SocketAddress localAddress, ChannelPromise promise) {
            ctx.pipeline().remove(this);
            promise.setSuccess();
        }
    }

    @Override
    public boolean supportsDomainSockets() {
        return epoll.supportsDomainSockets();
    }

    @Override
    public boolean supportFileRegion() {
        return epoll.supportFileRegion();
    }

    @Override
    public boolean isAvailable() {
        return epoll.isAvailable();
    }

    @Override
    public Throwable unavailabilityCause() {
        return epoll.unavailabilityCause();
    }

    @Override
    public SocketAddress convert(io.vertx.core.net.SocketAddress address) {
        return epoll.convert(address);
    }

    @Override
    public io.vertx.core.net.SocketAddress convert(SocketAddress address) {
        return epoll.convert(address);
    }

    @Override
    public EventLoopGroup eventLoopGroup(int type, int nThreads, ThreadFactory threadFactory, int ioRatio) {
        return epoll.eventLoopGroup(type, nThreads, threadFactory, ioRatio);
    }

    @Override
    public DatagramChannel datagramChannel() {
        return epoll.datagramChannel();
    }

    @Override
    public DatagramChannel datagramChannel(InternetProtocolFamily family) {
        return epoll.datagramChannel(family);
    }

    @Override
    public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
        return epoll.channelFactory(domainSocket);
    }

    @Override
    public void configure(DatagramChannel channel, DatagramSocketOptions options) {
        epoll.configure(channel, options);
    }

    @Override
    public void configure(ClientOptionsBase options, boolean domainSocket, Bootstrap bootstrap) {
        epoll.configure(options, domainSocket, bootstrap);
    }

    @Override
    public void configure(NetServerOptions options, boolean domainSocket, ServerBootstrap bootstrap) {
        // SO_REUSEPORT, TCP_FASTOPEN & co. belong to the gateway that bound the socket
        if (domainSocket) {
            epoll.configure(options, true, bootstrap);
        }
    }
}
