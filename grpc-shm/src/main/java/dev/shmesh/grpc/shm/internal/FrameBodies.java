package dev.shmesh.grpc.shm.internal;

import io.grpc.InternalMetadata;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes and decodes frame bodies ({@link FrameDescriptor}). Decoding reads bytes from another process: every
 * length is checked and a malformed body is a {@link ProtocolException}, never an index error.
 */
final class FrameBodies {
    private FrameBodies() {}

    /** A HEADERS body. */
    record Headers(String method, String authority, Metadata metadata) {}

    /** A TRAILERS or RST_STREAM body. */
    record Ending(Status status, Metadata trailers) {}

    static byte[] headers(String method, String authority, Metadata metadata) {
        byte[] m = method.getBytes(StandardCharsets.UTF_8);
        byte[] a = authority == null ? new byte[0] : authority.getBytes(StandardCharsets.UTF_8);
        byte[][] md = InternalMetadata.serialize(metadata);
        ByteBuffer b = allocate(8 + m.length + a.length + metadataLength(md));
        putBytes(b, m);
        putBytes(b, a);
        putMetadata(b, md);
        return b.array();
    }

    static Headers readHeaders(byte[] body) throws ProtocolException {
        ByteBuffer b = wrap(body);
        try {
            String method = new String(getBytes(b), StandardCharsets.UTF_8);
            String authority = new String(getBytes(b), StandardCharsets.UTF_8);
            Metadata metadata = getMetadata(b);
            end(b, "HEADERS");
            return new Headers(method, authority.isEmpty() ? null : authority, metadata);
        } catch (BufferUnderflowException e) {
            throw new ProtocolException("HEADERS body ends early");
        }
    }

    static byte[] metadata(Metadata metadata) {
        byte[][] md = InternalMetadata.serialize(metadata);
        ByteBuffer b = allocate(metadataLength(md));
        putMetadata(b, md);
        return b.array();
    }

    static Metadata readMetadata(byte[] body) throws ProtocolException {
        ByteBuffer b = wrap(body);
        try {
            Metadata m = getMetadata(b);
            end(b, "RESPONSE_HEADERS");
            return m;
        } catch (BufferUnderflowException e) {
            throw new ProtocolException("RESPONSE_HEADERS body ends early");
        }
    }

    /** A TRAILERS body ({@code trailers} non-null) or a RST_STREAM / GOAWAY body ({@code trailers} null). */
    static byte[] ending(Status status, Metadata trailers) {
        String d = status.getDescription();
        byte[] desc = d == null ? new byte[0] : d.getBytes(StandardCharsets.UTF_8);
        byte[][] md = trailers == null ? null : InternalMetadata.serialize(trailers);
        ByteBuffer b = allocate(8 + desc.length + (md == null ? 0 : metadataLength(md)));
        b.putInt(status.getCode().value());
        putBytes(b, desc);
        if (md != null) {
            putMetadata(b, md);
        }
        return b.array();
    }

    static Ending readEnding(byte[] body, boolean withTrailers, String frame) throws ProtocolException {
        ByteBuffer b = wrap(body);
        try {
            int code = b.getInt();
            byte[] desc = getBytes(b);
            Status status = Status.fromCodeValue(code);
            if (status.getCode().value() != code) {
                throw new ProtocolException(frame + " has unknown status code " + code);
            }
            if (desc.length > 0) {
                status = status.withDescription(new String(desc, StandardCharsets.UTF_8));
            }
            Metadata trailers = withTrailers ? getMetadata(b) : null;
            end(b, frame);
            return new Ending(status, trailers);
        } catch (BufferUnderflowException e) {
            throw new ProtocolException(frame + " body ends early");
        }
    }

    static byte[] windowUpdate(int bytes) {
        return allocate(4).putInt(bytes).array();
    }

    static int readWindowUpdate(byte[] body) throws ProtocolException {
        if (body.length != 4) {
            throw new ProtocolException("WINDOW_UPDATE body is " + body.length + " bytes, not 4");
        }
        int n = wrap(body).getInt();
        if (n <= 0) {
            throw new ProtocolException("WINDOW_UPDATE of " + n + " bytes");
        }
        return n;
    }

    private static int metadataLength(byte[][] md) {
        long n = 4;
        for (byte[] e : md) {
            n += 4 + e.length;
        }
        if (n > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("metadata of " + n + " bytes is too large");
        }
        return (int) n;
    }

    private static void putMetadata(ByteBuffer b, byte[][] md) {
        b.putInt(md.length / 2);
        for (byte[] e : md) {
            putBytes(b, e);
        }
    }

    private static Metadata getMetadata(ByteBuffer b) throws ProtocolException {
        int count = b.getInt();
        // every entry takes at least 8 bytes: a count beyond that is a lie, not an allocation to make
        if (count < 0 || count > b.remaining() / 8) {
            throw new ProtocolException("metadata count " + count + " does not fit in " + b.remaining() + " bytes");
        }
        byte[][] md = new byte[count * 2][];
        for (int i = 0; i < md.length; i++) {
            md[i] = getBytes(b);
        }
        try {
            return InternalMetadata.newMetadata(md);
        } catch (RuntimeException e) {
            throw new ProtocolException("metadata refused: " + e.getMessage());
        }
    }

    private static void putBytes(ByteBuffer b, byte[] bytes) {
        b.putInt(bytes.length).put(bytes);
    }

    private static byte[] getBytes(ByteBuffer b) throws ProtocolException {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            throw new ProtocolException("length " + n + " exceeds the " + b.remaining() + " bytes left");
        }
        byte[] bytes = new byte[n];
        b.get(bytes);
        return bytes;
    }

    private static void end(ByteBuffer b, String frame) throws ProtocolException {
        if (b.hasRemaining()) {
            throw new ProtocolException(frame + " body has " + b.remaining() + " bytes after its end");
        }
    }

    private static ByteBuffer allocate(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer wrap(byte[] body) {
        return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
    }
}
