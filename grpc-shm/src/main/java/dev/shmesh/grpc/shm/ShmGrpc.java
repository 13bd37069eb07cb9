package dev.shmesh.grpc.shm;

import io.grpc.Attributes;

/** Keys and defaults of the gRPC-over-shared-memory transport. */
public final class ShmGrpc {
    /** The attested peer of a server call: {@code serverCall.getAttributes().get(PEER_IDENTITY)}. */
    public static final Attributes.Key<PeerIdentity> PEER_IDENTITY = Attributes.Key.create("shmesh.peer-identity");

    /** Bytes of data in each ring of a connection (two per connection), unless the channel builder says otherwise. */
    public static final int DEFAULT_RING_CAPACITY = 1 << 20;
    /** Bytes a stream may have unacknowledged in one direction before its writer waits. */
    public static final int DEFAULT_STREAM_WINDOW = 1 << 20;
    /** Largest inbound message, as grpc-java's default. */
    public static final int DEFAULT_MAX_INBOUND_MESSAGE_SIZE = 4 << 20;
    /** Largest inbound header or trailer block, as grpc-java's default header list size. */
    public static final int DEFAULT_MAX_INBOUND_METADATA_SIZE = 8 << 10;
    /**
     * Spins of a connection's thread on an empty ring before it parks on the ring's futex (it yields the CPU every 256
     * spins); {@code -Dshmesh.grpc.spins} changes the default of every builder in the JVM.
     */
    public static final int DEFAULT_SPINS = Integer.getInteger("shmesh.grpc.spins", 20_000);

    private ShmGrpc() {}
}
