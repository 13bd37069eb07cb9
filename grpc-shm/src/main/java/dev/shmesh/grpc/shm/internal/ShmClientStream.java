package dev.shmesh.grpc.shm.internal;

import static io.grpc.internal.GrpcUtil.TIMEOUT_KEY;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Compressor;
import io.grpc.Deadline;
import io.grpc.DecompressorRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.internal.ClientStream;
import io.grpc.internal.ClientStreamListener;
import io.grpc.internal.ClientStreamListener.RpcProgress;
import io.grpc.internal.InsightBuilder;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.StreamListener;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;

/** The client side of one call on a {@link ShmClientTransport}. Thread-safety: as {@link ClientStream}. */
final class ShmClientStream extends AbstractShmStream implements ClientStream {
    private final ShmClientTransport transport;
    private final MethodDescriptor<?, ?> method;
    private final Metadata headers;
    private final CallOptions callOptions;
    final StatsTraceContext statsTraceCtx;
    private volatile String authority;
    private volatile int maxInboundMessageSize;
    private volatile int maxOutboundMessageSize = Integer.MAX_VALUE;
    private ClientStreamListener listener;
    /** Whether HEADERS went out (set by the transport as it writes them): then a cancel must tell the server. */
    boolean started;

    ShmClientStream(ShmClientTransport transport, ShmConnection connection, MethodDescriptor<?, ?> method,
            Metadata headers, CallOptions callOptions, StatsTraceContext statsTraceCtx, int window,
            int maxInboundMessageSize) {
        super(connection, window);
        this.transport = transport;
        this.method = method;
        this.headers = headers;
        this.callOptions = callOptions;
        this.statsTraceCtx = statsTraceCtx;
        this.authority = transport.authority();
        this.maxInboundMessageSize = maxInboundMessageSize;
    }

    @Override
    StreamListener listener() {
        return listener;
    }

    @Override
    StatsTraceContext stats() {
        return statsTraceCtx;
    }

    CallOptions callOptions() {
        return callOptions;
    }

    int maxInboundMessageSize() {
        return maxInboundMessageSize;
    }

    @Override
    public void start(ClientStreamListener listener) {
        this.listener = listener;
        statsTraceCtx.clientOutboundHeaders();
        byte[] headersBody = FrameBodies.headers(method.getFullMethodName(), authority, headers);
        synchronized (this) { // lock order: stream, transport, writer; a concurrent cancel() waits or went first
            if (closed) {
                return;
            }
            Status refused = transport.register(this, headersBody);
            if (refused != null) {
                closeLocked(() -> {
                    statsTraceCtx.streamClosed(refused);
                    listener.closed(refused, RpcProgress.REFUSED, new Metadata());
                });
            }
        }
        sync.drain();
        readyOnStart();
    }

    @Override
    public void writeMessage(InputStream message) {
        byte[] bytes = outboundBytes(message);
        if (bytes == null) {
            return;
        }
        if (bytes.length > maxOutboundMessageSize) {
            // as grpc-java's framer: the call turns this into CANCELLED with the cause attached
            throw Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                    "message too large %d > %d", bytes.length, maxOutboundMessageSize)).asRuntimeException();
        }
        send(FrameDescriptor.MESSAGE, bytes, true, null);
    }

    @Override
    public void flush() {}

    @Override
    public void halfClose() {
        send(FrameDescriptor.HALF_CLOSE, EMPTY, false, null);
    }

    @Override
    public void cancel(Status reason) {
        boolean wasStarted;
        synchronized (this) {
            if (!closeLocked(() -> {
                statsTraceCtx.streamClosed(reason);
                listener.closed(reason, RpcProgress.PROCESSED, new Metadata());
            })) {
                return;
            }
            wasStarted = started;
        }
        if (wasStarted) {
            connection.write(FrameDescriptor.RST_STREAM, id, FrameBodies.ending(
                    Status.CANCELLED.withDescription(reason.getDescription()), null));
        }
        sync.drain();
        transport.streamDone(this);
    }

    /** RESPONSE_HEADERS from the server. */
    void responseHeaders(Metadata md) {
        synchronized (this) {
            if (closed) {
                return;
            }
            sync.executeLater(() -> {
                statsTraceCtx.clientInboundHeaders(md);
                listener.headersRead(md);
            });
        }
        sync.drain();
    }

    /** TRAILERS from the server: the call ends once the messages before them are delivered. */
    void trailers(Status status, Metadata trailers) {
        afterInbound(() -> {
            boolean first;
            synchronized (this) {
                first = closeLocked(() -> {
                    statsTraceCtx.clientInboundTrailers(trailers);
                    statsTraceCtx.streamClosed(status);
                    listener.closed(status, RpcProgress.PROCESSED, trailers);
                });
            }
            if (first) {
                transport.streamDone(this);
            }
        });
    }

    /** The call ends now, without the messages still queued: RST_STREAM, a dead peer, a refused message. */
    void abort(Status status, RpcProgress progress, boolean tellServer) {
        synchronized (this) {
            if (!closeLocked(() -> {
                statsTraceCtx.streamClosed(status);
                listener.closed(status, progress, new Metadata());
            })) {
                return;
            }
        }
        if (tellServer) {
            connection.write(FrameDescriptor.RST_STREAM, id, FrameBodies.ending(Status.CANCELLED
                    .withDescription("client refused the response: " + status.getDescription()), null));
        }
        sync.drain();
        transport.streamDone(this);
    }

    @Override
    public void setAuthority(String authority) {
        this.authority = authority;
    }

    @Override
    public void setDeadline(Deadline deadline) {
        headers.discardAll(TIMEOUT_KEY);
        headers.put(TIMEOUT_KEY, Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS)));
    }

    @Override
    public void setMaxInboundMessageSize(int maxSize) {
        this.maxInboundMessageSize = maxSize;
    }

    @Override
    public void setMaxOutboundMessageSize(int maxSize) {
        this.maxOutboundMessageSize = maxSize;
    }

    @Override
    public Attributes getAttributes() {
        return transport.getAttributes();
    }

    @Override
    public void appendTimeoutInsight(InsightBuilder insight) {
        insight.appendKeyValue("remote_addr", connection.peer());
    }

    @Override
    public void optimizeForDirectExecutor() {}

    @Override
    public void setCompressor(Compressor compressor) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void setFullStreamDecompression(boolean fullStreamDecompression) {}

    @Override
    public void setDecompressorRegistry(DecompressorRegistry decompressorRegistry) {}
}
