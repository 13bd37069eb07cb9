package dev.shmesh.worker;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Two limits on a mesh-port connection that Vert.x does not enforce itself (docs/limits.md).
 *
 * <p><b>A deadline for the header block of each HTTP/1.x request</b> ({@code shmesh.http.header-timeout}). On HTTP/1.x
 * Vert.x's idle timeout sits behind the decoder, so it counts decoded messages, not bytes: a client that drips header
 * bytes (slowloris) is closed too, but only after the whole idle timeout — a length that suits kept-alive and gRPC
 * connections, not a request that is still arriving — and without a word. The clock starts when a connection is
 * accepted, and on a kept-alive connection again at the first byte of each further request; it stops when the
 * request's headers are complete (Netty's decoder emits the {@link HttpRequest}). When it runs out the worker answers
 * {@code 408 Request Timeout} with {@code connection: close} — just closes, if a response is still being written —
 * and closes the connection. Between requests only the idle timeout ({@code quarkus.http.idle-timeout}) applies. A
 * connection that turns to HTTP/2 (prior knowledge or an h2c upgrade) leaves the deadline behind: HTTP/2 is bounded
 * by its own limits (streams, header list size) and the idle timeout.
 *
 * <p><b>HTTP/2's stream limit from the first frame</b> ({@code quarkus.http.limits.max-concurrent-streams}): Netty
 * applies the SETTINGS_MAX_CONCURRENT_STREAMS it advertises only once the peer acknowledges that SETTINGS frame, so a
 * client that never does could open any number of streams. The limit is set on the connection as soon as it turns
 * to HTTP/2, before its first frame is read (the peer has not seen it yet, but RFC 9113 lets a server refuse a stream
 * beyond its advertised limit with REFUSED_STREAM, as Go's server does).
 *
 * <p>Installed at the head of each accepted connection's pipeline by {@link #acceptor()} on the adopted listener's
 * server channel, so it sees raw bytes first; it adds an {@code Observer} behind Vert.x's HTTP/1.x codec once
 * Vert.x has chosen HTTP/1.x for the connection. Each instance belongs to one connection and runs on its event loop
 * only.
 */
final class ConnectionLimits extends ChannelInboundHandlerAdapter {
    /** The header deadline's key; 0 (or a negative duration) turns the deadline off. */
    static final String HEADER_TIMEOUT = "shmesh.http.header-timeout";
    /** HTTP/2 streams a peer may have open; Quarkus advertises it, this enforces it before the peer's ACK. */
    static final String MAX_CONCURRENT_STREAMS = "quarkus.http.limits.max-concurrent-streams";

    private static final Logger LOG = Logger.getLogger(ConnectionLimits.class);
    private static final String NAME = "shmesh-connection-limits";
    private static final String OBSERVER = "shmesh-header-deadline";
    // Vert.x's names (HttpServerWorker.configureHttp1Pipeline): decoder, then encoder, toward the tail
    private static final String DECODER = "httpDecoder";
    private static final String ENCODER = "httpEncoder";
    private static final String TIMED_OUT = "request headers not complete in time\n";
    private static final byte[] REQUEST_TIMEOUT = ("HTTP/1.1 408 Request Timeout\r\n"
            + "content-type: text/plain\r\ncontent-length: " + TIMED_OUT.length() + "\r\nconnection: close\r\n\r\n"
            + TIMED_OUT).getBytes(StandardCharsets.US_ASCII);

    private final long timeoutNanos;
    private final int maxConcurrentStreams;
    private ScheduledFuture<?> timer;
    /** A request has ended: the next byte starts the next request's clock. */
    private boolean betweenRequests;
    private boolean observed;
    /** A request asked to switch protocols (h2c): after it, look for HTTP/2 again on each read. */
    private boolean upgradeAsked;
    private long requests;
    private long responses;

    private ConnectionLimits(long timeoutNanos, int maxConcurrentStreams) {
        this.timeoutNanos = timeoutNanos;
        this.maxConcurrentStreams = maxConcurrentStreams;
    }

    /**
     * The handler for a server channel's pipeline that gives every accepted connection these limits, as configured;
     * null when both are off.
     */
    static ChannelHandler acceptor() {
        Config config = ConfigProvider.getConfig();
        Duration timeout = config.getOptionalValue(HEADER_TIMEOUT, Duration.class).orElse(Duration.ZERO);
        long streams = config.getOptionalValue(MAX_CONCURRENT_STREAMS, Long.class).orElse(0L);
        if (timeout.isZero() || timeout.isNegative()) {
            LOG.warnf("%s=%s: no deadline for request headers on the mesh port", HEADER_TIMEOUT, timeout);
            timeout = Duration.ZERO;
        }
        if (timeout.isZero() && streams <= 0) {
            return null;
        }
        return new Acceptor(timeout.toNanos(), (int) Math.min(Integer.MAX_VALUE, Math.max(0, streams)));
    }

    /** Adds a {@link ConnectionLimits} at the head of each accepted channel, before the server's child handler runs. */
    @ChannelHandler.Sharable
    private static final class Acceptor extends ChannelInboundHandlerAdapter {
        private final long timeoutNanos;
        private final int maxConcurrentStreams;

        Acceptor(long timeoutNanos, int maxConcurrentStreams) {
            this.timeoutNanos = timeoutNanos;
            this.maxConcurrentStreams = maxConcurrentStreams;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Channel child) {
                child.pipeline().addFirst(NAME, new ConnectionLimits(timeoutNanos, maxConcurrentStreams));
            }
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (timeoutNanos > 0) {
            arm(ctx);
        }
        protocol(ctx); // Vert.x may have chosen HTTP/1.x already (h2c off): observe from the first byte
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf bytes)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (betweenRequests && bytes.isReadable() && timeoutNanos > 0) {
            betweenRequests = false;
            arm(ctx);
        }
        if (observed && !upgradeAsked) {
            ctx.fireChannelRead(bytes); // HTTP/1.x for good: nothing to look up in the pipeline
            return;
        }
        // Until Vert.x has chosen HTTP/1.x or HTTP/2 (from the first bytes: the h2c preface or not), one byte at a
        // time: its choice rebuilds the pipeline, and the observer must be behind the new decoder before that
        // decoder sees a whole request. At most the preface's 24 bytes, once per connection.
        Protocol protocol = protocol(ctx);
        while (protocol == Protocol.UNDECIDED && bytes.readableBytes() > 1) {
            ctx.fireChannelRead(bytes.readRetainedSlice(1));
            protocol = protocol(ctx);
        }
        if (protocol == Protocol.HTTP2) {
            limitStreams(ctx); // before the frames that follow the preface are read
        }
        ctx.fireChannelRead(bytes);
        if (protocol(ctx) == Protocol.HTTP2) {
            limitStreams(ctx); // an h2c upgrade happened in there
            leave(ctx);
        }
    }

    private void limitStreams(ChannelHandlerContext ctx) {
        Http2ConnectionHandler h2 = ctx.pipeline().get(Http2ConnectionHandler.class);
        if (maxConcurrentStreams > 0 && h2 != null
                && h2.connection().remote().maxActiveStreams() > maxConcurrentStreams) {
            h2.connection().remote().maxActiveStreams(maxConcurrentStreams);
        }
    }

    private enum Protocol {
        UNDECIDED,
        HTTP1,
        HTTP2,
        CLOSED
    }

    /** What the connection speaks now; installs the observer the first time it is HTTP/1.x. */
    private Protocol protocol(ChannelHandlerContext ctx) {
        if (ctx.isRemoved() || !ctx.channel().isActive()) {
            return Protocol.CLOSED;
        }
        ChannelPipeline pipeline = ctx.pipeline();
        if (pipeline.get(Http2ConnectionHandler.class) != null) {
            return Protocol.HTTP2; // prior knowledge, or an h2c upgrade took the HTTP/1.x codec away
        }
        if (pipeline.get(DECODER) == null || pipeline.get(ENCODER) == null) {
            return Protocol.UNDECIDED;
        }
        if (!observed) {
            observed = true;
            // behind both codecs: requests arrive decoded, responses leave not yet encoded
            pipeline.addAfter(ENCODER, OBSERVER, new Observer());
        }
        return Protocol.HTTP1;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void arm(ChannelHandlerContext ctx) {
        cancel();
        timer = ctx.executor().schedule(() -> expire(ctx), timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expire(ChannelHandlerContext ctx) {
        timer = null;
        if (ctx.isRemoved() || !ctx.channel().isActive()) {
            return;
        }
        LOG.debugf("request headers from %s not complete within %d ms: 408, closing", ctx.channel().remoteAddress(),
                TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        if (responses == requests) {
            // written from the head of the pipeline, past Vert.x's encoder: no response of ours is in progress
            ctx.writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    private void leave(ChannelHandlerContext ctx) {
        cancel();
        if (ctx.isRemoved()) {
            return;
        }
        if (ctx.pipeline().get(OBSERVER) != null) {
            ctx.pipeline().remove(OBSERVER);
        }
        ctx.pipeline().remove(this);
    }

    /** Behind the HTTP/1.x codec: sees where each request's headers and body end, and where each response ends. */
    private final class Observer extends ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                cancel(); // headers complete (or refused by the decoder, which Vert.x answers)
                requests++;
                upgradeAsked |= request.headers().contains(HttpHeaderNames.UPGRADE);
            }
            if (msg instanceof LastHttpContent) {
                betweenRequests = true;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof LastHttpContent) {
                responses++;
            }
            ctx.write(msg, promise);
        }
    }
}
