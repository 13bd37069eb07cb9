package dev.shmesh.grpc.shm;

import dev.shmesh.grpc.shm.internal.ShmServer;
import io.grpc.ForwardingServerBuilder;
import io.grpc.ServerBuilder;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.ServerImplBuilder;
import io.grpc.internal.SharedResourceHolder;
import java.io.File;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Builds a {@link io.grpc.Server} that serves its services over shared-memory rings to channels built with {@link
 * ShmChannelBuilder} in other processes. It takes connections on a rendezvous socket ({@link ShmAddress}); every
 * call's attributes carry the caller's {@link PeerIdentity} under {@link ShmGrpc#PEER_IDENTITY}.
 *
 * <pre>{@code
 * Server s = ShmServerBuilder.forPath(dir.resolve("catalog/replica-1.sock"))
 *         .attestor(PeerAttestor.byUid(Map.of(1001, "frontend")))
 *         .addService(new CatalogImpl()).build().start();
 * }</pre>
 */
public final class ShmServerBuilder extends ForwardingServerBuilder<ShmServerBuilder> {
    private final ServerImplBuilder delegate;
    private final Path socketPath;
    private final HandedConnections handed;
    private Set<PosixFilePermission> socketPermissions = PosixFilePermissions.fromString("rw-------");
    private PeerAttestor attestor = PeerAttestor.kernelOnly();
    private int streamWindow = ShmGrpc.DEFAULT_STREAM_WINDOW;
    private int maxConcurrentStreams = 1000;
    private int maxInboundMessageSize = ShmGrpc.DEFAULT_MAX_INBOUND_MESSAGE_SIZE;
    private int maxInboundMetadataSize = ShmGrpc.DEFAULT_MAX_INBOUND_METADATA_SIZE;
    private int maxRingCapacity = 64 << 20;
    private int spins = ShmGrpc.DEFAULT_SPINS;
    private int handshakeTimeoutMillis = 5_000;
    private int maxHandshakes = 64;

    private ShmServerBuilder(Path socketPath, HandedConnections handed) {
        this.socketPath = socketPath;
        this.handed = handed;
        this.delegate = new ServerImplBuilder(tracers -> new ShmServer(new ShmServer.Options(this.socketPath,
                this.handed, socketPermissions, attestor, streamWindow, maxConcurrentStreams, maxInboundMessageSize,
                maxInboundMetadataSize, maxRingCapacity, spins, handshakeTimeoutMillis, maxHandshakes),
                tracers, SharedResourceHolder.get(GrpcUtil.TIMER_SERVICE)));
        // the transport's handshake has its own bound; grpc-java's would start a timer per connection
        delegate.handshakeTimeout(Long.MAX_VALUE, TimeUnit.SECONDS);
    }

    /** A server taking connections on the rendezvous socket at {@code socketPath} (made on start, removed on shutdown). */
    public static ShmServerBuilder forPath(Path socketPath) {
        return new ShmServerBuilder(Objects.requireNonNull(socketPath, "socketPath"), null);
    }

    /**
     * A server that takes no connections itself: it serves the connections handed to {@code handed} ({@link
     * HandedConnections#serve}), made by a third party (in the mesh, the gateway) that also attested the peer of
     * each; the attestor does not apply.
     */
    public static ShmServerBuilder forHandedConnections(HandedConnections handed) {
        return new ShmServerBuilder(null, Objects.requireNonNull(handed, "handed"));
    }

    /** Who may connect, by file mode of the socket; default {@code rw-------} (this uid only). */
    public ShmServerBuilder socketPermissions(Set<PosixFilePermission> permissions) {
        this.socketPermissions = Set.copyOf(permissions);
        return this;
    }

    /** How a caller's kernel credentials become its {@link PeerIdentity}; default {@link PeerAttestor#kernelOnly()}. */
    public ShmServerBuilder attestor(PeerAttestor attestor) {
        this.attestor = Objects.requireNonNull(attestor, "attestor");
        return this;
    }

    /** Bytes a stream may have unacknowledged in each direction; default 1 MiB. */
    public ShmServerBuilder streamWindow(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("streamWindow=" + bytes + " must be positive");
        }
        this.streamWindow = bytes;
        return this;
    }

    /** Streams one connection may have open; more are refused with RESOURCE_EXHAUSTED. Default 1000. */
    public ShmServerBuilder maxConcurrentCallsPerConnection(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("maxConcurrentCallsPerConnection=" + n + " must be positive");
        }
        this.maxConcurrentStreams = n;
        return this;
    }

    @Override
    public ShmServerBuilder maxInboundMessageSize(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("maxInboundMessageSize=" + bytes + " must not be negative");
        }
        this.maxInboundMessageSize = bytes;
        return this;
    }

    @Override
    public ShmServerBuilder maxInboundMetadataSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("maxInboundMetadataSize=" + bytes + " must be positive");
        }
        this.maxInboundMetadataSize = bytes;
        return this;
    }

    /** How long a connection's thread spins on an empty ring before it parks on the ring's futex. */
    public ShmServerBuilder spins(int spins) {
        if (spins < 0) {
            throw new IllegalArgumentException("spins=" + spins + " must not be negative");
        }
        this.spins = spins;
        return this;
    }

    /** How long a client may take to send its hello; default 5 s. */
    public ShmServerBuilder shmHandshakeTimeout(long timeout, TimeUnit unit) {
        this.handshakeTimeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, unit.toMillis(timeout)));
        return this;
    }

    @Override
    public ShmServerBuilder useTransportSecurity(File certChain, File privateKey) {
        throw new UnsupportedOperationException("TLS does not apply: the rings are mapped only by the two processes,"
                + " and the caller's identity is in ShmGrpc.PEER_IDENTITY");
    }

    @Override
    protected ServerBuilder<?> delegate() {
        return delegate;
    }
}
