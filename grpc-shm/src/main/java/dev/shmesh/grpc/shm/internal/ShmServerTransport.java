package dev.shmesh.grpc.shm.internal;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import dev.shmesh.grpc.shm.PeerIdentity;
import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmGrpc;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalLogId;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.internal.GrpcAttributes;
import io.grpc.internal.ServerTransport;
import io.grpc.internal.ServerTransportListener;
import io.grpc.internal.StatsTraceContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The server end of one connection ({@link FrameDescriptor}): opens a server stream for every HEADERS frame and
 * routes the other frames to it. Its connection's thread calls {@link ServerTransportListener}; the calls themselves
 * run on the server's executor, as grpc-java arranges.
 *
 * <p>Thread-safety: transport state is guarded by {@code this}; lock order stream, transport, writer.
 */
final class ShmServerTransport implements ServerTransport, ShmConnection.Listener {
    private final ShmConnection connection;
    private final ShmServer server;
    private final PeerIdentity peer;
    private final int streamWindow;
    private final InternalLogId logId;
    private final Map<Integer, ShmServerStream> streams = new HashMap<>();
    private ServerTransportListener listener;
    private Attributes streamAttributes;
    private int lastStreamId;
    private boolean shutdown;
    private boolean terminated;

    ShmServerTransport(ShmConnection connection, ShmServer server, PeerIdentity peer, int streamWindow) {
        this.streamWindow = streamWindow;
        this.connection = connection;
        this.server = server;
        this.peer = peer;
        this.logId = InternalLogId.allocate(getClass(), peer.toString());
    }

    /** Registers with the server and runs the connection on the calling thread until it ends. */
    void run(ServerTransportListener listener) {
        ShmAddress local = server.address();
        Attributes attrs = Attributes.newBuilder()
                .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local)
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, local)
                .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
                .set(ShmGrpc.PEER_IDENTITY, peer)
                .build();
        synchronized (this) {
            this.listener = listener;
            this.streamAttributes = listener.transportReady(attrs);
        }
        connection.run(this);
    }

    synchronized Attributes streamAttributes() {
        return streamAttributes;
    }

    void streamDone(ShmServerStream stream) {
        synchronized (this) {
            if (streams.remove(stream.id) != null && shutdown && streams.isEmpty()) {
                terminateLocked();
            }
        }
    }

    @Override
    public void shutdown() {
        synchronized (this) {
            if (shutdown) {
                return;
            }
            shutdown = true;
            connection.write(FrameDescriptor.GOAWAY, 0, FrameBodies.ending(
                    Status.UNAVAILABLE.withDescription("server shutting down"), null));
            if (streams.isEmpty()) {
                terminateLocked();
            }
        }
    }

    @Override
    public void shutdownNow(Status reason) {
        shutdown();
        List<ShmServerStream> copy;
        synchronized (this) {
            copy = new ArrayList<>(streams.values());
        }
        for (ShmServerStream s : copy) {
            s.cancel(reason);
        }
    }

    private void terminateLocked() {
        if (terminated) {
            return;
        }
        terminated = true;
        connection.close();
        if (listener != null) {
            listener.transportTerminated();
        }
        server.transportTerminated(this);
    }

    // ---- frames from the client, on the connection's thread ----

    @Override
    public int maxBodyLength(int type, int streamId) {
        if (type == FrameDescriptor.MESSAGE) {
            return server.maxInboundMessageSize();
        }
        return type == FrameDescriptor.WINDOW_UPDATE ? 4 : server.maxInboundMetadataSize();
    }

    @Override
    public void onFrame(int type, int streamId, byte[] body) throws ProtocolException {
        switch (type) {
            case FrameDescriptor.HEADERS -> open(streamId, FrameBodies.readHeaders(body));
            case FrameDescriptor.GOAWAY -> FrameBodies.readEnding(body, false, "GOAWAY"); // the client leaves
            case FrameDescriptor.MESSAGE -> {
                ShmServerStream s = stream(streamId);
                if (s != null) {
                    s.inboundMessage(body);
                }
            }
            case FrameDescriptor.HALF_CLOSE -> {
                ShmServerStream s = stream(streamId);
                if (s != null) {
                    s.halfClose();
                }
            }
            case FrameDescriptor.RST_STREAM -> {
                FrameBodies.Ending e = FrameBodies.readEnding(body, false, "RST_STREAM");
                ShmServerStream s = stream(streamId);
                if (s != null) {
                    s.abort(Status.CANCELLED.withDescription("client cancelled: " + e.status().getDescription()), false);
                }
            }
            case FrameDescriptor.WINDOW_UPDATE -> {
                int n = FrameBodies.readWindowUpdate(body);
                ShmServerStream s = stream(streamId);
                if (s != null) {
                    s.windowUpdate(n);
                }
            }
            default -> throw new ProtocolException("a client does not send " + FrameDescriptor.typeName(type));
        }
    }

    private void open(int streamId, FrameBodies.Headers headers) throws ProtocolException {
        ShmServerStream stream;
        Status refused = null;
        synchronized (this) {
            if (streamId <= lastStreamId || (streamId & 1) == 0) {
                throw new ProtocolException("stream id " + streamId + " after " + lastStreamId
                        + " (ids are odd and increase)");
            }
            lastStreamId = streamId;
            if (shutdown) {
                refused = Status.UNAVAILABLE.withDescription("server is shutting down");
            } else if (streams.size() >= server.maxConcurrentStreams()) {
                refused = Status.RESOURCE_EXHAUSTED.withDescription("more than " + server.maxConcurrentStreams()
                        + " concurrent streams on one connection");
            }
            if (refused != null) {
                stream = null;
            } else {
                List<? extends ServerStreamTracer.Factory> tracers = server.streamTracerFactories();
                StatsTraceContext stats = StatsTraceContext.newServerContext(tracers, headers.method(),
                        headers.metadata());
                stream = new ShmServerStream(this, connection, streamId, headers.authority(), stats, streamWindow);
                streams.put(streamId, stream);
            }
        }
        if (stream == null) {
            connection.write(FrameDescriptor.RST_STREAM, streamId, FrameBodies.ending(refused, null));
            return;
        }
        Metadata md = headers.metadata();
        try {
            listener.streamCreated(stream, headers.method(), md);
        } catch (RuntimeException e) {
            // grpc-java refuses some headers by throwing: a grpc-timeout that is no timeout is a NumberFormatException
            // out of its parser. The peer broke the protocol, and this is its protocol error, not the server failing:
            // a stream that never got a listener is dropped here (aborting it would call a listener it does not have)
            if (stream.listener() == null) {
                synchronized (this) {
                    streams.remove(streamId);
                }
            }
            throw new ProtocolException("HEADERS on stream " + streamId + " refused by grpc-java ("
                    + e.getClass().getSimpleName() + "; a malformed grpc-timeout?)");
        }
        stream.readyOnStart();
    }

    @Override
    public void onOversized(int type, int streamId, int bodyLength) throws ProtocolException {
        if (type == FrameDescriptor.HEADERS) {
            synchronized (this) {
                if (streamId <= lastStreamId) {
                    throw new ProtocolException("stream id " + streamId + " after " + lastStreamId);
                }
                lastStreamId = streamId;
            }
            connection.write(FrameDescriptor.RST_STREAM, streamId, FrameBodies.ending(Status.RESOURCE_EXHAUSTED
                    .withDescription("request headers of " + bodyLength + " bytes exceed the server's limit of "
                            + server.maxInboundMetadataSize()), null));
            return;
        }
        ShmServerStream s = stream(streamId);
        if (s != null) {
            s.abort(Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                    "gRPC message exceeds maximum size %d: %d", server.maxInboundMessageSize(), bodyLength)), true);
        }
    }

    @Override
    public void connectionClosed(Status status) {
        List<ShmServerStream> copy;
        synchronized (this) {
            copy = new ArrayList<>(streams.values());
        }
        for (ShmServerStream s : copy) {
            s.abort(Status.CANCELLED.withDescription(status.getDescription()), false);
        }
        synchronized (this) {
            shutdown = true;
            terminateLocked();
        }
    }

    private synchronized ShmServerStream stream(int id) {
        return streams.get(id);
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService() {
        return server.timer();
    }

    @Override
    public ListenableFuture<SocketStats> getStats() {
        SettableFuture<SocketStats> f = SettableFuture.create();
        f.set(null);
        return f;
    }

    @Override
    public InternalLogId getLogId() {
        return logId;
    }

    @Override
    public String toString() {
        return "ShmServerTransport[" + peer + "]";
    }
}
