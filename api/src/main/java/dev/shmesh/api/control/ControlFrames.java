package dev.shmesh.api.control;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.shmesh.api.control.v1.Envelope;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Framing of the shmesh control protocol.
 *
 * <h2>Protocol description</h2>
 * <pre>
 *   frame    = length envelope
 *   length   = uint32, big-endian, 1..MAX_FRAME_BYTES, the byte count of envelope
 *   envelope = a serialized shmesh.control.v1.Envelope with exactly one body set and no unknown fields
 *
 *   peer                                   gateway
 *    | connect(run-dir/control.sock)          |  accept; SO_PEERCRED -> pid, uid
 *    | Hello{role, instance_id, version, token}  ->  pid must be the spawned process or a descendant,
 *    |                                        |  the token that process was given, the same version
 *    |  <-  Assign{fds...} + one SCM_RIGHTS   |  the only frame with ancillary data, fds in list order
 *    |        (broker only: Segments{fds} + one SCM_RIGHTS  ->  the only frame a peer sends fds with)
 *    | Ready{serving}  ->                     |
 *    |  <-  Connection{side, service, replica, peer} + SCM_RIGHTS [socket, in ring, out ring]
 *    |                                        |  any time after Ready: an end of a gRPC-over-shm connection
 *    | Heartbeat{seq, health}  ->  (every heartbeat_interval_ms)
 *    |  <-  Members{highest_assigned, live}   |  broker only: which member ids are gone
 *    |  <-  Drain{timeout_ms} | Stop          |
 * </pre>
 * Assign carries the listen fds (edges), the member id and generation, the routes of the public services (edges) and
 * the service a replica belongs to (services). docs/control-protocol.md is the full description.
 * Anything else — a frame before Hello that is not Hello, a bad token, an oversize or malformed
 * frame, unknown fields, ancillary data from the peer, no complete Hello by the hello deadline — closes the
 * connection; the gateway logs the peer's pid and uid and hands it nothing.
 *
 * <p>Not thread-safe: one reader and one writer (holding the stream's lock) per connection.
 */
public final class ControlFrames {
    /** Version carried in Hello; the gateway refuses any other. */
    public static final int PROTOCOL_VERSION = 1;
    /** Largest accepted envelope; a length prefix above it is a protocol violation. */
    public static final int MAX_FRAME_BYTES = 64 * 1024;

    private ControlFrames() {}

    /** Writes one frame and flushes. */
    public static void write(OutputStream out, Envelope envelope) throws IOException {
        byte[] body = envelope.toByteArray();
        if (body.length > MAX_FRAME_BYTES) {
            throw new ProtocolException("refusing to send a frame of " + body.length + " bytes (max " + MAX_FRAME_BYTES + ")");
        }
        byte[] frame = new byte[4 + body.length];
        frame[0] = (byte) (body.length >>> 24);
        frame[1] = (byte) (body.length >>> 16);
        frame[2] = (byte) (body.length >>> 8);
        frame[3] = (byte) body.length;
        System.arraycopy(body, 0, frame, 4, body.length);
        // one write: the frame's first byte carries any ancillary data queued on the socket
        out.write(frame);
        out.flush();
    }

    /**
     * Reads one frame.
     *
     * @return the envelope, or {@code null} on a clean end of stream before a frame started
     * @throws ProtocolException on an oversize length, a frame cut short, a malformed envelope,
     *     no body, or unknown fields
     */
    public static Envelope read(InputStream in) throws IOException {
        int b0 = in.read();
        if (b0 < 0) {
            return null;
        }
        byte[] prefix = new byte[3];
        readFully(in, prefix, "length prefix");
        long length = ((long) b0 << 24) | ((prefix[0] & 0xFFL) << 16) | ((prefix[1] & 0xFFL) << 8) | (prefix[2] & 0xFFL);
        if (length < 1 || length > MAX_FRAME_BYTES) {
            throw new ProtocolException("frame length " + length + " outside 1.." + MAX_FRAME_BYTES);
        }
        byte[] body = new byte[(int) length];
        readFully(in, body, "frame body of " + length + " bytes");
        Envelope envelope;
        try {
            envelope = Envelope.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new ProtocolException("malformed envelope: " + e.getMessage());
        }
        if (envelope.getBodyCase() == Envelope.BodyCase.BODY_NOT_SET) {
            throw new ProtocolException("envelope without a body (unknown message type?)");
        }
        if (hasUnknownFields(envelope)) {
            throw new ProtocolException("envelope with unknown fields: " + envelope.getBodyCase());
        }
        return envelope;
    }

    private static boolean hasUnknownFields(Message message) {
        if (!message.getUnknownFields().asMap().isEmpty()) {
            return true;
        }
        for (Object value : message.getAllFields().values()) {
            if (value instanceof Message m && hasUnknownFields(m)) {
                return true;
            }
            if (value instanceof Iterable<?> list) {
                for (Object element : list) {
                    if (element instanceof Message m && hasUnknownFields(m)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static void readFully(InputStream in, byte[] buffer, String what) throws IOException {
        int off = 0;
        while (off < buffer.length) {
            int n = in.read(buffer, off, buffer.length - off);
            if (n < 0) {
                throw new EOFException("connection closed inside a frame (" + what + ", " + off + " of " + buffer.length + " bytes)");
            }
            off += n;
        }
    }

    /** A peer broke the control protocol; the connection must be closed. */
    public static final class ProtocolException extends IOException {
        private static final long serialVersionUID = 1L;

        public ProtocolException(String message) {
            super(message);
        }
    }
}
