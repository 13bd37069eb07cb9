package dev.shmesh.grpc.shm.internal;

import dev.shmesh.grpc.shm.ShmAddress;
import io.grpc.ChannelCredentials;
import io.grpc.ChannelLogger;
import io.grpc.internal.ClientTransportFactory;
import io.grpc.internal.ConnectionClientTransport;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.SharedResourceHolder;
import java.net.SocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/** Makes {@link ShmClientTransport}s for a channel; shares grpc-java's timer. */
public final class ShmClientTransportFactory implements ClientTransportFactory {
    private final ShmClientTransport.Options options;
    private final ScheduledExecutorService timer = SharedResourceHolder.get(GrpcUtil.TIMER_SERVICE);
    private boolean closed;

    public ShmClientTransportFactory(ShmClientTransport.Options options) {
        this.options = options;
    }

    @Override
    public ConnectionClientTransport newClientTransport(SocketAddress address, ClientTransportOptions o,
            ChannelLogger logger) {
        if (closed) {
            throw new IllegalStateException("the transport factory is closed");
        }
        if (!(address instanceof ShmAddress shm)) {
            throw new IllegalArgumentException("address=" + address + " is not a ShmAddress");
        }
        return new ShmClientTransport(shm, o.getAuthority(), o.getEagAttributes(), options);
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService() {
        return timer;
    }

    @Override
    public SwapChannelCredentialsResult swapChannelCredentials(ChannelCredentials channelCreds) {
        return null;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getSupportedSocketAddressTypes() {
        return List.of(ShmAddress.class);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            SharedResourceHolder.release(GrpcUtil.TIMER_SERVICE, timer);
        }
    }
}
