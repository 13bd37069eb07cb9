package io.grpc.testing.integration;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The same interop cases as {@link ShmTransportInteropTest}, over grpc-java's Netty transport on loopback TCP. */
@RunWith(JUnit4.class)
public class NettyInteropTest extends AbstractInteropTest {
    @Override
    protected ServerBuilder<?> getServerBuilder() {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    }

    @Override
    protected ManagedChannelBuilder<?> createChannelBuilder() {
        int port = ((InetSocketAddress) getListenAddress()).getPort();
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    }

    @Override
    protected boolean metricsExpected() {
        return false;
    }
}
