package dev.shmesh.grpc.shm.internal;

import io.grpc.Attributes;
import io.grpc.Compressor;
import io.grpc.Decompressor;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.ServerStream;
import io.grpc.internal.ServerStreamListener;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.StreamListener;
import java.io.InputStream;

/** The server side of one call on a {@link ShmServerTransport}. Thread-safety: as {@link ServerStream}. */
final class ShmServerStream extends AbstractShmStream implements ServerStream {
    private final ShmServerTransport transport;
    private final String authority;
    private final StatsTraceContext statsTraceCtx;
    private volatile ServerStreamListener listener;
    private boolean closeSent;

    ShmServerStream(ShmServerTransport transport, ShmConnection connection, int streamId, String authority,
            StatsTraceContext statsTraceCtx, int window) {
        super(connection, window);
        this.id = streamId;
        this.transport = transport;
        this.authority = authority;
        this.statsTraceCtx = statsTraceCtx;
    }

    @Override
    StreamListener listener() {
        return listener;
    }

    @Override
    StatsTraceContext stats() {
        return statsTraceCtx;
    }

    @Override
    public void setListener(ServerStreamListener listener) {
        this.listener = listener;
    }

    @Override
    public void writeHeaders(Metadata headers, boolean flush) {
        send(FrameDescriptor.RESPONSE_HEADERS, FrameBodies.metadata(headers), false, null);
    }

    @Override
    public void writeMessage(InputStream message) {
        byte[] bytes = outboundBytes(message);
        if (bytes == null) {
            return;
        }
        send(FrameDescriptor.MESSAGE, bytes, true, null);
    }

    @Override
    public void flush() {}

    @Override
    public void close(Status status, Metadata trailers) {
        synchronized (this) {
            if (closeSent) {
                return;
            }
            closeSent = true;
        }
        Status wire = Status.fromCode(status.getCode()).withDescription(status.getDescription());
        // the call is done for the server once its trailers are written (after messages waiting for the window)
        send(FrameDescriptor.TRAILERS, FrameBodies.ending(wire, trailers), false, () -> {
            statsTraceCtx.streamClosed(status);
            if (closeLocked(() -> listener.closed(Status.OK))) {
                transport.streamDone(this);
            }
        });
    }

    @Override
    public void cancel(Status status) {
        synchronized (this) {
            if (!closeLocked(() -> listener.closed(status))) {
                return;
            }
        }
        statsTraceCtx.streamClosed(status);
        // as an HTTP/2 RST_STREAM(CANCEL): the client reports CANCELLED, or DEADLINE_EXCEEDED past its deadline
        connection.write(FrameDescriptor.RST_STREAM, id, FrameBodies.ending(
                Status.CANCELLED.withDescription("server cancelled the call"), null));
        sync.drain();
        transport.streamDone(this);
    }

    /** HALF_CLOSE from the client: delivered after the messages before it. */
    void halfClose() {
        afterInbound(() -> listener.halfClosed());
    }

    /** RST_STREAM from the client, its death, or a message this side refused: the call is cancelled now. */
    void abort(Status status, boolean tellClient) {
        synchronized (this) {
            if (!closeLocked(() -> listener.closed(status))) {
                return;
            }
        }
        statsTraceCtx.streamClosed(status);
        if (tellClient) {
            connection.write(FrameDescriptor.RST_STREAM, id, FrameBodies.ending(status, null));
        }
        sync.drain();
        transport.streamDone(this);
    }

    @Override
    public Attributes getAttributes() {
        return transport.streamAttributes();
    }

    @Override
    public String getAuthority() {
        return authority;
    }

    @Override
    public StatsTraceContext statsTraceContext() {
        return statsTraceCtx;
    }

    @Override
    public int streamId() {
        return id;
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void optimizeForDirectExecutor() {}

    @Override
    public void setCompressor(Compressor compressor) {}

    @Override
    public void setDecompressor(Decompressor decompressor) {}
}
