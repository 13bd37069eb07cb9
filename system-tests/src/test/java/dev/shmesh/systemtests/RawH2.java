package dev.shmesh.systemtests;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP/2 client that writes frames as a test wants them, including the ones a well-behaved client never sends
 * (more streams than allowed, no SETTINGS ACK, a header block beyond any limit): prior knowledge (h2c), frames by
 * hand, HPACK by Netty's coder. Not thread-safe; {@link #close()} closes the socket.
 */
final class RawH2 implements AutoCloseable {
    static final int DATA = 0;
    static final int HEADERS = 1;
    static final int RST_STREAM = 3;
    static final int SETTINGS = 4;
    static final int GOAWAY = 7;
    static final int CONTINUATION = 9;
    static final int END_STREAM = 0x1;
    static final int END_HEADERS = 0x4;
    static final int ACK = 0x1;
    static final int REFUSED_STREAM = 0x7;
    /** The largest frame payload a peer must accept before SETTINGS say otherwise. */
    private static final int MAX_FRAME = 16_384;

    /** One frame as read. */
    record Frame(int type, int flags, int stream, byte[] payload) {
        int errorCode() {
            int at = type == GOAWAY ? 4 : 0;
            return ((payload[at] & 0xff) << 24) | ((payload[at + 1] & 0xff) << 16) | ((payload[at + 2] & 0xff) << 8)
                    | (payload[at + 3] & 0xff);
        }

        String goAwayDebug() {
            return type == GOAWAY ? new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8) : "";
        }
    }

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final DefaultHttp2HeadersEncoder encoder =
            new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, false);
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false, Integer.MAX_VALUE);

    /** Connects to 127.0.0.1:{@code port}, sends the preface and an empty SETTINGS; ACKs the server's if asked. */
    RawH2(int port, boolean ackSettings) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        out = socket.getOutputStream();
        in = new DataInputStream(socket.getInputStream());
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        write(SETTINGS, 0, 0, new byte[0]);
        if (ackSettings) {
            write(SETTINGS, ACK, 0, new byte[0]);
        }
        out.flush();
    }

    /** Request headers for {@code method} {@code path} plus {@code extra} name/value pairs. */
    static Http2Headers request(String method, String path, String... extra) {
        Http2Headers h = new DefaultHttp2Headers(false).method(method).scheme("http").path(path).authority("mesh");
        for (int i = 0; i < extra.length; i += 2) {
            h.add(extra[i], extra[i + 1]);
        }
        return h;
    }

    /** HEADERS (and CONTINUATIONs when the block is larger than a frame) on {@code stream}; not flushed. */
    void headers(int stream, Http2Headers headers, boolean endStream) throws IOException {
        ByteBuf block = Unpooled.buffer();
        try {
            encoder.encodeHeaders(stream, headers, block);
        } catch (Http2Exception e) {
            throw new IOException(e);
        }
        byte[] bytes = ByteBufUtil.getBytes(block);
        block.release();
        int first = Math.min(MAX_FRAME, bytes.length);
        int flags = (endStream ? END_STREAM : 0) | (first == bytes.length ? END_HEADERS : 0);
        write(HEADERS, flags, stream, java.util.Arrays.copyOfRange(bytes, 0, first));
        for (int at = first; at < bytes.length; at += MAX_FRAME) {
            int end = Math.min(bytes.length, at + MAX_FRAME);
            write(CONTINUATION, end == bytes.length ? END_HEADERS : 0, stream, java.util.Arrays.copyOfRange(bytes, at, end));
        }
    }

    /** DATA on {@code stream}, split into frames the peer accepts; not flushed. */
    void data(int stream, byte[] bytes, boolean endStream) throws IOException {
        int at = 0;
        do {
            int end = Math.min(bytes.length, at + MAX_FRAME);
            write(DATA, end == bytes.length && endStream ? END_STREAM : 0, stream,
                    java.util.Arrays.copyOfRange(bytes, at, end));
            at = end;
        } while (at < bytes.length);
    }

    void flush() throws IOException {
        out.flush();
    }

    /** The next frame; EOFException when the server closed the connection. */
    Frame read() throws IOException {
        int length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fff_ffff;
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Frame(type, flags, stream, payload);
    }

    /**
     * Decodes a HEADERS frame's block (with the CONTINUATIONs that follow it when it has no END_HEADERS); every
     * header block the server sends must go through here, in order, to keep the HPACK table in step.
     */
    Http2Headers decode(Frame headers) throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.write(fragment(headers));
        Frame f = headers;
        while ((f.flags() & END_HEADERS) == 0) {
            f = read();
            if (f.type() != CONTINUATION) {
                throw new IOException("expected CONTINUATION, got frame type " + f.type());
            }
            block.write(f.payload());
        }
        try {
            return decoder.decodeHeaders(headers.stream(), Unpooled.wrappedBuffer(block.toByteArray()));
        } catch (Http2Exception e) {
            throw new IOException(e);
        }
    }

    /** A HEADERS payload without its padding and priority fields. */
    private static byte[] fragment(Frame f) {
        int start = 0;
        int end = f.payload().length;
        if ((f.flags() & 0x8) != 0) { // PADDED
            start = 1;
            end -= f.payload()[0] & 0xff;
        }
        if ((f.flags() & 0x20) != 0) { // PRIORITY
            start += 5;
        }
        return java.util.Arrays.copyOfRange(f.payload(), start, end);
    }

    private void write(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] header = {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
            (byte) type, (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8),
            (byte) stream};
        out.write(header);
        out.write(payload);
    }

    /** Reads frames until the server closes the connection; returns the GOAWAY among them, or null. */
    Frame readUntilClosed() throws IOException {
        Frame goAway = null;
        try {
            while (true) {
                Frame f = read();
                if (f.type() == GOAWAY) {
                    goAway = f;
                }
            }
        } catch (EOFException | java.net.SocketException closed) {
            return goAway;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
