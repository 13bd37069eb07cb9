package dev.shmesh.grpc.shm.internal;

/**
 * Layout of the gRPC-over-shared-memory frames: constants only, no state.
 *
 * <h2>Protocol description</h2>
 *
 * <p>A <b>connection</b> joins one client process and one server process. It is two {@code ManyToOneRing}s in
 * anonymous, sealed memfds (client → server and server → client), created by the client, plus the stream socket
 * the client connected on (the <em>rendezvous socket</em>). The client hands both memfds over that socket with
 * SCM_RIGHTS in its hello; the server checks the seals, attaches both rings, reads the client's credentials with
 * SO_PEERCRED and answers. After that no byte goes over the socket: it stays open only so that each side sees the
 * other die (EOF / POLLHUP when the kernel closes a dead process's descriptors).
 *
 * <pre>
 *   hello (client → server, on the socket, with SCM_RIGHTS [c2s memfd, s2c memfd]):
 *     0  int64 magic "SHMGRPC1"     8  int32 version (1)      12  int32 reserved (0)
 *   answer (server → client):
 *     0  int64 magic "SHMGRPC1"     8  int32 status (0 = ok, else refused)
 *    12  int32 initial stream window (bytes)   16  int32 max concurrent streams
 * </pre>
 *
 * <p>A <b>frame</b> is one or more ring records. The record's type is the frame type; its payload is:
 *
 * <pre>
 *    0  int32 stream id         client-chosen, odd, increasing; 0 for connection frames (GOAWAY)
 *    4  int32 flags             bit 0 CONTINUATION: the record continues the frame before it
 *    8  int32 body length       first record of a frame only: the whole body's length
 *   12  body bytes              (continuation records: body bytes from offset 8)
 * </pre>
 *
 * All integers are little-endian. A frame longer than one record is <b>fragmented</b>: its first record carries the
 * body length and as much body as fits; continuation records carry the rest, in order. A writer writes all records
 * of a frame before any record of another frame (one writer lock per direction), so a reader reassembles at most one
 * frame at a time per connection.
 *
 * <p>Frame bodies:
 * <pre>
 *   HEADERS          c→s  opens a stream: int32 n, method name (UTF-8); int32 n, authority; metadata
 *   RESPONSE_HEADERS s→c  metadata
 *   MESSAGE          both one gRPC message, its bytes as the marshaller wrote them (no 5-byte gRPC prefix)
 *   HALF_CLOSE       c→s  the client sends nothing more on this stream; empty
 *   TRAILERS         s→c  ends the stream: int32 status code; int32 n, description (UTF-8); metadata
 *   RST_STREAM       both ends the stream at once (cancellation, an error): int32 code; int32 n, description
 *   WINDOW_UPDATE    both int32 bytes the reader has handed to its application since its last update
 *   GOAWAY           both no new streams on this connection: int32 code; int32 n, description
 *   metadata       = int32 count, then count × (int32 n, key bytes; int32 n, value bytes) in the order of
 *                    {@code InternalMetadata.serialize}; binary ("-bin") values travel raw, not base64
 * </pre>
 *
 * <p><b>Flow control.</b> Each direction of each stream has a window (the answer's initial stream window). A writer
 * starts a MESSAGE only while the bytes it sent and the reader has not acknowledged are below the window, and
 * queues it otherwise ({@code isReady()} is false then, and {@code onReady()} follows the WINDOW_UPDATE that opens
 * it). The reader acknowledges a message when it hands it to the application (after {@code request(n)}), so a slow
 * reader holds back its own writer and nobody else: the reader's connection thread keeps draining the ring into the
 * stream's queue, which the window bounds to window + one message. A reader that sees more than that on one stream
 * treats it as a protocol error. A message larger than the window is sent whole once nothing is outstanding.
 *
 * <p><b>Limits.</b> A MESSAGE body longer than the reader's max inbound message size is not reassembled: its records
 * are skipped and the stream fails with RESOURCE_EXHAUSTED on the reader's side and is reset on the writer's. A
 * header or trailer body longer than the max inbound metadata size likewise.
 *
 * <p><b>Teardown.</b> A stream ends when the server's TRAILERS (or a RST_STREAM from either side) has been read.
 * A side that shuts down sends GOAWAY; the client then opens no stream on the connection, and both close the socket
 * and drop their mappings once the streams in flight are done. EOF on the socket without GOAWAY means the peer died:
 * every open stream fails with UNAVAILABLE. A record that breaks these rules (an unknown type, a continuation
 * without a first record, a length that does not add up) closes the connection: its streams fail with UNAVAILABLE,
 * other connections are untouched.
 */
public final class FrameDescriptor {
    public static final long MAGIC = 0x31435052474d4853L; // "SHMGRPC1" little-endian
    public static final int VERSION = 1;
    public static final int HELLO_LENGTH = 16;
    public static final int ANSWER_LENGTH = 20;
    public static final int ANSWER_OK = 0;

    public static final int HEADERS = 1;
    public static final int RESPONSE_HEADERS = 2;
    public static final int MESSAGE = 3;
    public static final int HALF_CLOSE = 4;
    public static final int TRAILERS = 5;
    public static final int RST_STREAM = 6;
    public static final int WINDOW_UPDATE = 7;
    public static final int GOAWAY = 8;
    public static final int MAX_TYPE = GOAWAY;

    public static final int STREAM_ID_OFFSET = 0;
    public static final int FLAGS_OFFSET = 4;
    public static final int BODY_LENGTH_OFFSET = 8;
    /** Bytes before the body in the first record of a frame. */
    public static final int FIRST_HEADER_LENGTH = 12;
    /** Bytes before the body in a continuation record. */
    public static final int CONTINUATION_HEADER_LENGTH = 8;

    public static final int FLAG_CONTINUATION = 1;

    private FrameDescriptor() {}

    /** The frame type's name, for logs and errors. */
    public static String typeName(int type) {
        return switch (type) {
            case HEADERS -> "HEADERS";
            case RESPONSE_HEADERS -> "RESPONSE_HEADERS";
            case MESSAGE -> "MESSAGE";
            case HALF_CLOSE -> "HALF_CLOSE";
            case TRAILERS -> "TRAILERS";
            case RST_STREAM -> "RST_STREAM";
            case WINDOW_UPDATE -> "WINDOW_UPDATE";
            case GOAWAY -> "GOAWAY";
            default -> "type " + type;
        };
    }
}
