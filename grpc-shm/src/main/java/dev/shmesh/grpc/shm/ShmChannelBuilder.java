package dev.shmesh.grpc.shm;

import dev.shmesh.grpc.shm.internal.ShmClientTransport;
import dev.shmesh.grpc.shm.internal.ShmClientTransportFactory;
import io.grpc.ForwardingChannelBuilder2;
import io.grpc.ManagedChannelBuilder;
import io.grpc.internal.ManagedChannelImplBuilder;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Builds a {@link io.grpc.ManagedChannel} whose calls go over shared-memory rings to servers built with {@link
 * ShmServerBuilder}, in other processes on this host. Everything above the transport is grpc-java's own: stubs,
 * interceptors, deadlines, retries and hedging, name resolution and load balancing.
 *
 * <pre>{@code
 * ManagedChannel ch = ShmChannelBuilder.forTarget("shm:///catalog").directory(dir).build(); // every replica
 * ManagedChannel one = ShmChannelBuilder.forAddress(new ShmAddress(socket)).build();        // one server
 * }</pre>
 */
public final class ShmChannelBuilder extends ForwardingChannelBuilder2<ShmChannelBuilder> {
    private final ManagedChannelImplBuilder delegate;
    private int ringCapacity = ShmGrpc.DEFAULT_RING_CAPACITY;
    private int maxInboundMetadataSize = ShmGrpc.DEFAULT_MAX_INBOUND_METADATA_SIZE;
    private int maxInboundMessageSize = ShmGrpc.DEFAULT_MAX_INBOUND_MESSAGE_SIZE;
    private int spins = ShmGrpc.DEFAULT_SPINS;
    private int handshakeTimeoutMillis = 5_000;
    private HandedConnections handed;

    private ShmChannelBuilder(ShmAddress address, String target) {
        if (address != null) {
            delegate = new ManagedChannelImplBuilder(address, "localhost", this::buildTransportFactory, null);
        } else {
            delegate = new ManagedChannelImplBuilder(target, this::buildTransportFactory, null);
            delegate.defaultLoadBalancingPolicy("round_robin");
        }
    }

    /** A channel to the one server listening at {@code address}. */
    public static ShmChannelBuilder forAddress(ShmAddress address) {
        return new ShmChannelBuilder(Objects.requireNonNull(address, "address"), null);
    }

    /**
     * A channel to a target resolved by grpc-java's name resolvers: {@code shm:///<service>} names every replica of
     * a service in the directory ({@link ShmNameResolverProvider}); calls are balanced round-robin across them
     * unless a service config or {@link #defaultLoadBalancingPolicy} says otherwise.
     */
    public static ShmChannelBuilder forTarget(String target) {
        return new ShmChannelBuilder(null, Objects.requireNonNull(target, "target"));
    }

    /** Resolves {@code shm:///} targets in {@code directory} instead of the default ({@link ShmNameResolverProvider}). */
    @SuppressWarnings("deprecation") // the per-channel resolver registry is package-private in grpc-java
    public ShmChannelBuilder directory(Path directory) {
        delegate.nameResolverFactory(new ShmNameResolverProvider(directory));
        return this;
    }

    /**
     * Connects through connections handed to this process ({@link HandedConnections}) instead of rendezvous
     * sockets: {@code shm:///<service>} resolves to the replicas offered there.
     */
    @SuppressWarnings("deprecation") // the per-channel resolver registry is package-private in grpc-java
    public ShmChannelBuilder handedConnections(HandedConnections handed) {
        this.handed = Objects.requireNonNull(handed, "handed");
        delegate.nameResolverFactory(handed.resolverProvider());
        return this;
    }

    /** Bytes of data in each of a connection's two rings (a power of two); default 1 MiB. */
    public ShmChannelBuilder ringCapacity(int bytes) {
        if (Integer.bitCount(bytes) != 1 || bytes < 4096) {
            throw new IllegalArgumentException("ringCapacity=" + bytes + " must be a power of two of at least 4096");
        }
        this.ringCapacity = bytes;
        return this;
    }

    /** How long a connection's thread spins on an empty ring before it parks on the ring's futex. */
    public ShmChannelBuilder spins(int spins) {
        if (spins < 0) {
            throw new IllegalArgumentException("spins=" + spins + " must not be negative");
        }
        this.spins = spins;
        return this;
    }

    /** How long to wait for a server to answer the handshake; default 5 s. */
    public ShmChannelBuilder handshakeTimeout(long timeout, TimeUnit unit) {
        this.handshakeTimeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, unit.toMillis(timeout)));
        return this;
    }

    @Override
    public ShmChannelBuilder maxInboundMessageSize(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("maxInboundMessageSize=" + bytes + " must not be negative");
        }
        this.maxInboundMessageSize = bytes;
        return this;
    }

    @Override
    public ShmChannelBuilder maxInboundMetadataSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("maxInboundMetadataSize=" + bytes + " must be positive");
        }
        this.maxInboundMetadataSize = bytes;
        return this;
    }

    /** Plaintext is all there is: the rings are mapped only by the two processes. */
    @Override
    public ShmChannelBuilder usePlaintext() {
        return this;
    }

    @Override
    protected ManagedChannelBuilder<?> delegate() {
        return delegate;
    }

    private ShmClientTransportFactory buildTransportFactory() {
        return new ShmClientTransportFactory(
                new ShmClientTransport.Options(ringCapacity, maxInboundMessageSize, maxInboundMetadataSize, spins,
                        handshakeTimeoutMillis, handed));
    }
}
