package dev.shmesh.grpc.shm.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.Ring;
import io.grpc.Metadata;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The gRPC-over-shm frames ({@link FrameDescriptor}) as a connection reads them from its peer's ring: the fuzzer's
 * input is a sequence of records — any type, any bytes — that it publishes into a real ring, interleaved with reads
 * by a {@link FrameReader} that reassembles fragmented frames and hands each whole one to a sink that decodes its
 * body as the server ({@code ShmServerTransport}) or the client ({@code ShmClientTransport}) does
 * ({@link FrameBodies}), with the receive limits the input chooses.
 *
 * <p>What must hold: every frame is either decoded, skipped as oversized (only when its announced body is over the
 * limit), or refused with a {@link ProtocolException} — which closes that connection and nothing else, so the input
 * ends there. No other exception, no body longer than the limit allocated or delivered.
 *
 * <p>Inputs: {@code FrameReaderFuzzTestInputs/<method>/}; the seeds are what {@link FrameWriter} writes for real calls
 * ({@link FrameSeedsTest}). Input format: {@code u16 max message, u16 max metadata}, then steps: {@code u8 op}; op % 4
 * == 3 reads ({@code u8 limit}), otherwise one record: {@code u8 type} (255: {@code i32 type}, else 1 + type % 12),
 * {@code u16 length}, that many body bytes.
 */
class FrameReaderFuzzTest {
    static final int RING_CAPACITY = 1024;
    static final int READ = 3;
    static final int MAX_STEPS = 400;

    @FuzzTest
    void serverReadsClientRecords(byte[] input) {
        run(input, true);
    }

    @FuzzTest
    void clientReadsServerRecords(byte[] input) {
        run(input, false);
    }

    private static void run(byte[] bytes, boolean server) {
        Input in = new Input(bytes);
        ManyToOneRing ring = RingFixture.fresh();
        DecodingSink sink = new DecodingSink(server, in.u16(), in.u16());
        FrameReader reader = new FrameReader(ring, sink);
        MemorySegment record = MemorySegment.ofArray(new byte[ring.maxPayloadLength()]);
        try {
            for (int step = 0; step < MAX_STEPS && in.hasMore(); step++) {
                int op = in.u8();
                if (op % 4 == READ) {
                    read(reader, 1 + in.u8() % 64);
                    continue;
                }
                int t = in.u8();
                int type = t == 255 ? Math.max(1, in.i32()) : 1 + t % 12;
                int length = in.u16() % (ring.maxPayloadLength() + 1);
                record.fill((byte) 0);
                MemorySegment.copy(in.bytes(length), 0, record, ValueLayout.JAVA_BYTE, 0, Math.min(length, in.lastLength));
                int r = ring.offer(type, record, 0, length);
                if (r == Ring.BACK_PRESSURED) {
                    drain(reader);
                    r = ring.offer(type, record, 0, length);
                }
                assertTrue(r >= 0, "an emptied ring refused a record: " + r);
            }
            drain(reader);
        } catch (ProtocolException closesTheConnection) {
            assertNotNull(closesTheConnection.getMessage());
        }
    }

    /**
     * Reads until the ring is empty: one poll stops at the end of the data area, and one that only passed the padding
     * before the wrap returns 0, so empty is two polls in a row that read nothing.
     */
    private static void drain(FrameReader reader) throws ProtocolException {
        int empty = 0;
        for (int polls = 0; empty < 2; polls++) {
            assertTrue(polls < RING_CAPACITY, "the reader never empties the ring");
            empty = read(reader, Integer.MAX_VALUE) > 0 ? 0 : empty + 1;
        }
    }

    private static int read(FrameReader reader, int limit) throws ProtocolException {
        int n = reader.poll(limit);
        assertTrue(n >= 0, "the ring was not closed, yet poll said " + n);
        return n;
    }

    /** Decodes each whole frame as the transport of that side does, and checks the reader kept to the limits. */
    private static final class DecodingSink implements FrameReader.Sink {
        private final boolean server;
        private final int maxMessage;
        private final int maxMetadata;

        DecodingSink(boolean server, int maxMessage, int maxMetadata) {
            this.server = server;
            this.maxMessage = maxMessage;
            this.maxMetadata = maxMetadata;
        }

        @Override
        public int maxBodyLength(int type, int streamId) {
            if (type == FrameDescriptor.MESSAGE) {
                return maxMessage;
            }
            return type == FrameDescriptor.WINDOW_UPDATE ? 4 : maxMetadata;
        }

        @Override
        public void onFrame(int type, int streamId, byte[] body) throws ProtocolException {
            assertTrue(body.length <= maxBodyLength(type, streamId), "a " + FrameDescriptor.typeName(type) + " body of "
                    + body.length + " bytes was delivered over the limit of " + maxBodyLength(type, streamId));
            if (server) {
                switch (type) {
                    case FrameDescriptor.HEADERS -> {
                        FrameBodies.Headers h = FrameBodies.readHeaders(body);
                        assertNotNull(h.method());
                        keys(h.metadata());
                    }
                    case FrameDescriptor.GOAWAY -> FrameBodies.readEnding(body, false, "GOAWAY");
                    case FrameDescriptor.MESSAGE, FrameDescriptor.HALF_CLOSE -> { }
                    case FrameDescriptor.RST_STREAM -> FrameBodies.readEnding(body, false, "RST_STREAM");
                    case FrameDescriptor.WINDOW_UPDATE -> assertTrue(FrameBodies.readWindowUpdate(body) > 0);
                    default -> throw new ProtocolException("a client does not send " + FrameDescriptor.typeName(type));
                }
            } else {
                switch (type) {
                    case FrameDescriptor.GOAWAY -> FrameBodies.readEnding(body, false, "GOAWAY");
                    case FrameDescriptor.RESPONSE_HEADERS -> keys(FrameBodies.readMetadata(body));
                    case FrameDescriptor.MESSAGE -> { }
                    case FrameDescriptor.TRAILERS -> {
                        FrameBodies.Ending e = FrameBodies.readEnding(body, true, "TRAILERS");
                        assertNotNull(e.status());
                        keys(e.trailers());
                    }
                    case FrameDescriptor.RST_STREAM -> assertNotNull(FrameBodies.readEnding(body, false, "RST_STREAM").status());
                    case FrameDescriptor.WINDOW_UPDATE -> assertTrue(FrameBodies.readWindowUpdate(body) > 0);
                    default -> throw new ProtocolException("a server does not send " + FrameDescriptor.typeName(type));
                }
            }
        }

        @Override
        public void onOversized(int type, int streamId, int bodyLength) {
            assertTrue(bodyLength > maxBodyLength(type, streamId), "a " + FrameDescriptor.typeName(type) + " of "
                    + bodyLength + " bytes skipped as oversized under the limit of " + maxBodyLength(type, streamId));
        }

        private static void keys(Metadata metadata) {
            for (String key : metadata.keys()) {
                assertNotNull(key);
            }
        }
    }

    /** One ring per JVM, reset before every input: as its peer's writes left it, and nothing else. */
    static final class RingFixture {
        private static ManyToOneRing ring;
        private static byte[] pristine;

        static synchronized ManyToOneRing fresh() {
            try {
                if (ring == null) {
                    ring = ManyToOneRing.createAnonymous("fuzz-frames", RING_CAPACITY);
                    dev.shmesh.linux.FileDescriptors.closeQuietly(ring.segment().anonymousFd()); // the mapping stays
                    pristine = ring.segment().memory().toArray(ValueLayout.JAVA_BYTE);
                }
                MemorySegment.copy(pristine, 0, ring.segment().memory(), ValueLayout.JAVA_BYTE, 0, pristine.length);
                return ManyToOneRing.attach(ring.segment());
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot make a ring in a memfd: " + e.getMessage(), e);
            }
        }
    }

    /** Little-endian fields front to back; past the end every field reads 0. */
    static final class Input {
        private final byte[] bytes;
        private int position;
        int lastLength;

        Input(byte[] bytes) {
            this.bytes = bytes;
        }

        boolean hasMore() {
            return position < bytes.length;
        }

        int u8() {
            return position < bytes.length ? bytes[position++] & 0xFF : 0;
        }

        int u16() {
            return u8() | u8() << 8;
        }

        int i32() {
            return u16() | u16() << 16;
        }

        byte[] bytes(int n) {
            lastLength = Math.max(0, Math.min(n, bytes.length - position));
            byte[] out = java.util.Arrays.copyOfRange(bytes, position, position + lastLength);
            position += lastLength;
            return out;
        }
    }
}
