package dev.shmesh.grpc.shm.internal;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import dev.shmesh.grpc.shm.HandedConnections;
import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import dev.shmesh.grpc.shm.ShmGrpc;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Grpc;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalLogId;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import io.grpc.internal.ClientStream;
import io.grpc.internal.ClientStreamListener.RpcProgress;
import io.grpc.internal.ConnectionClientTransport;
import io.grpc.internal.FailingClientStream;
import io.grpc.internal.GrpcAttributes;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.ManagedClientTransport;
import io.grpc.internal.SimpleDisconnectError;
import io.grpc.internal.StatsTraceContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * A client connection to one server replica ({@link FrameDescriptor}). {@link #start} connects on a thread of its
 * own, which then runs the connection's read loop; the transport is ready once the server answered the handshake.
 *
 * <p>Thread-safety: as {@link ConnectionClientTransport}; transport state is guarded by {@code this}. Lock order:
 * stream, then transport, then the connection's writer.
 */
public final class ShmClientTransport implements ConnectionClientTransport, ShmConnection.Listener {
    /** What the channel builder decided. */
    public record Options(int ringCapacity, int maxInboundMessageSize, int maxInboundMetadataSize, int spins,
            int handshakeTimeoutMillis, HandedConnections handed) {}

    private final ShmAddress address;
    private final String authority;
    private final Options options;
    private final InternalLogId logId;
    private final Map<Integer, ShmClientStream> streams = new HashMap<>();
    private volatile Attributes attributes;
    private ManagedClientTransport.Listener listener;
    private ShmConnection connection;
    private Rendezvous.Terms terms;
    private int nextStreamId = 1;
    private int inUse;
    private Status shutdownStatus;
    private boolean goAwayReceived;
    private boolean terminated;

    public ShmClientTransport(ShmAddress address, String authority, Attributes eagAttrs, Options options) {
        this.address = address;
        this.authority = authority;
        this.options = options;
        this.logId = InternalLogId.allocate(getClass(), address.toString());
        this.attributes = Attributes.newBuilder()
                .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
                .set(GrpcAttributes.ATTR_CLIENT_EAG_ATTRS, eagAttrs)
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, address)
                .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, address)
                .build();
    }

    String authority() {
        return authority;
    }

    @Override
    public Runnable start(ManagedClientTransport.Listener listener) {
        this.listener = listener;
        Thread t = new Thread(this::connectAndRun, "shm-grpc-client " + address);
        t.setDaemon(true);
        t.start();
        return null;
    }

    private void connectAndRun() {
        Rendezvous.Established est;
        try {
            est = address.isNamed() ? adoptHanded() : Rendezvous.connect(address.path(), options.ringCapacity(),
                    options.handshakeTimeoutMillis());
        } catch (IOException | RuntimeException e) {
            Status s = Status.UNAVAILABLE.withDescription("cannot connect to the gRPC shared-memory server at "
                    + address + ": " + e.getMessage()).withCause(e);
            shutdown(s);
            terminate();
            return;
        }
        ShmConnection conn = new ShmConnection(est.inbound(), est.outbound(), est.socket(), est.socketFd(),
                address + " (" + est.peer() + ")", options.spins());
        synchronized (this) {
            if (shutdownStatus != null) {
                conn.close();
                terminateLocked();
                return;
            }
            connection = conn;
            terms = est.terms();
            attributes = attributes.toBuilder().set(ShmGrpc.PEER_IDENTITY, est.peer()).build();
        }
        attributes = listener.filterTransport(attributes);
        listener.transportReady();
        conn.run(this);
    }

    private Rendezvous.Established adoptHanded() throws IOException {
        ShmConnectionEnd end = options.handed() == null ? null : options.handed().take(address);
        if (end == null) {
            throw new IOException("no connection to " + address + " has been handed to this process (yet)");
        }
        return Rendezvous.adopt(end, Integer.MAX_VALUE, Integer.MAX_VALUE);
    }

    @Override
    public ClientStream newStream(MethodDescriptor<?, ?> method, Metadata headers, CallOptions callOptions,
            ClientStreamTracer[] tracers) {
        StatsTraceContext stats = StatsTraceContext.newClientContext(tracers, getAttributes(), headers);
        synchronized (this) {
            if (shutdownStatus != null) {
                return new FailingClientStream(shutdownStatus, RpcProgress.REFUSED, tracers);
            }
            if (connection == null) {
                return new FailingClientStream(Status.UNAVAILABLE.withDescription("not connected yet"),
                        RpcProgress.REFUSED, tracers);
            }
            int maxInbound = callOptions.getMaxInboundMessageSize() != null
                    ? callOptions.getMaxInboundMessageSize() : options.maxInboundMessageSize();
            return new ShmClientStream(this, connection, method, headers, callOptions, stats, terms.streamWindow(),
                    maxInbound);
        }
    }

    /**
     * Gives {@code stream} its id, registers it and writes its HEADERS frame, in one critical section: ids must reach
     * the ring in increasing order, whichever threads start calls at once. A non-null result refuses the stream (the
     * transport is shutting down, or the server's stream limit is reached).
     */
    synchronized Status register(ShmClientStream stream, byte[] headers) {
        if (shutdownStatus != null || goAwayReceived) {
            return shutdownStatus != null ? shutdownStatus
                    : Status.UNAVAILABLE.withDescription("the server is going away");
        }
        if (streams.size() >= terms.maxConcurrentStreams()) {
            return Status.UNAVAILABLE.withDescription("the server allows " + terms.maxConcurrentStreams()
                    + " concurrent streams per connection");
        }
        stream.id = nextStreamId;
        nextStreamId += 2;
        streams.put(stream.id, stream);
        stream.started = true;
        connection.write(FrameDescriptor.HEADERS, stream.id, headers);
        if (GrpcUtil.shouldBeCountedForInUse(stream.callOptions()) && inUse++ == 0) {
            listener.transportInUse(true);
        }
        return null;
    }

    void streamDone(ShmClientStream stream) {
        synchronized (this) {
            if (streams.remove(stream.id) == null) {
                return;
            }
            if (GrpcUtil.shouldBeCountedForInUse(stream.callOptions()) && --inUse == 0) {
                listener.transportInUse(false);
            }
            if (shutdownStatus != null && streams.isEmpty()) {
                terminateLocked();
            }
        }
    }

    @Override
    public void ping(PingCallback callback, Executor executor) {
        Status s;
        synchronized (this) {
            s = terminated ? shutdownStatus : null;
        }
        executor.execute(() -> {
            if (s != null) {
                callback.onFailure(s);
            } else {
                callback.onSuccess(0);
            }
        });
    }

    @Override
    public void shutdown(Status reason) {
        synchronized (this) {
            if (shutdownStatus != null) {
                return;
            }
            shutdownStatus = reason;
            listener.transportShutdown(reason, SimpleDisconnectError.SUBCHANNEL_SHUTDOWN);
            if (connection != null) {
                connection.write(FrameDescriptor.GOAWAY, 0, FrameBodies.ending(Status.OK, null));
            }
            if (streams.isEmpty() && connection != null) {
                terminateLocked();
            }
        }
    }

    @Override
    public void shutdownNow(Status reason) {
        shutdown(reason);
        List<ShmClientStream> copy;
        synchronized (this) {
            copy = new ArrayList<>(streams.values());
        }
        for (ShmClientStream s : copy) {
            s.cancel(reason);
        }
    }

    private void terminate() {
        synchronized (this) {
            terminateLocked();
        }
    }

    private void terminateLocked() {
        if (terminated) {
            return;
        }
        terminated = true;
        if (connection != null) {
            connection.close();
        }
        listener.transportTerminated();
    }

    // ---- frames from the server, on the connection's thread ----

    @Override
    public int maxBodyLength(int type, int streamId) {
        if (type == FrameDescriptor.MESSAGE) {
            ShmClientStream s = stream(streamId);
            return s == null ? 0 : s.maxInboundMessageSize();
        }
        return type == FrameDescriptor.WINDOW_UPDATE ? 4 : options.maxInboundMetadataSize();
    }

    @Override
    public void onFrame(int type, int streamId, byte[] body) throws ProtocolException {
        if (type == FrameDescriptor.GOAWAY) {
            goAway(FrameBodies.readEnding(body, false, "GOAWAY").status());
            return;
        }
        ShmClientStream s = stream(streamId);
        switch (type) {
            case FrameDescriptor.RESPONSE_HEADERS -> {
                Metadata md = FrameBodies.readMetadata(body);
                if (s != null) {
                    s.responseHeaders(md);
                }
            }
            case FrameDescriptor.MESSAGE -> {
                if (s != null) {
                    s.inboundMessage(body);
                }
            }
            case FrameDescriptor.TRAILERS -> {
                FrameBodies.Ending e = FrameBodies.readEnding(body, true, "TRAILERS");
                if (s != null) {
                    s.trailers(e.status(), e.trailers());
                }
            }
            case FrameDescriptor.RST_STREAM -> {
                FrameBodies.Ending e = FrameBodies.readEnding(body, false, "RST_STREAM");
                if (s != null) {
                    s.abort(e.status(), RpcProgress.PROCESSED, false);
                }
            }
            case FrameDescriptor.WINDOW_UPDATE -> {
                int n = FrameBodies.readWindowUpdate(body);
                if (s != null) {
                    s.windowUpdate(n);
                }
            }
            default -> throw new ProtocolException("a server does not send " + FrameDescriptor.typeName(type));
        }
    }

    @Override
    public void onOversized(int type, int streamId, int bodyLength) {
        ShmClientStream s = stream(streamId);
        if (s == null) {
            return;
        }
        Status status = type == FrameDescriptor.MESSAGE
                ? Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                        "gRPC message exceeds maximum size %d: %d", s.maxInboundMessageSize(), bodyLength))
                : Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                        "%s of %d bytes exceeds the max inbound metadata size %d", FrameDescriptor.typeName(type),
                        bodyLength, options.maxInboundMetadataSize()));
        s.abort(status, RpcProgress.PROCESSED, true);
    }

    @Override
    public void connectionClosed(Status status) {
        List<ShmClientStream> copy;
        synchronized (this) {
            copy = new ArrayList<>(streams.values());
        }
        for (ShmClientStream s : copy) {
            s.abort(status, RpcProgress.PROCESSED, false);
        }
        synchronized (this) {
            if (shutdownStatus == null) {
                shutdownStatus = status;
                listener.transportShutdown(status, SimpleDisconnectError.CONNECTION_RESET);
            }
            terminateLocked();
        }
    }

    private void goAway(Status status) {
        synchronized (this) {
            if (goAwayReceived) {
                return;
            }
            goAwayReceived = true;
            listener.transportShutdown(Status.UNAVAILABLE.withDescription("the server is going away"),
                    SimpleDisconnectError.UNKNOWN);
        }
    }

    private synchronized ShmClientStream stream(int id) {
        return streams.get(id);
    }

    @Override
    public Attributes getAttributes() {
        return attributes;
    }

    @Override
    public InternalLogId getLogId() {
        return logId;
    }

    @Override
    public ListenableFuture<SocketStats> getStats() {
        SettableFuture<SocketStats> f = SettableFuture.create();
        f.set(null);
        return f;
    }

    @Override
    public String toString() {
        return "ShmClientTransport[" + address + "]";
    }
}
