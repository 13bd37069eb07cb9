package dev.shmesh.grpc.shm.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.ManyToOneRing;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed inputs of {@link FrameReaderFuzzTest}: the records {@link FrameWriter} writes for a whole call in each
 * direction (HEADERS with metadata, small and fragmented MESSAGEs, WINDOW_UPDATE, HALF_CLOSE, RESPONSE_HEADERS,
 * TRAILERS, RST_STREAM, GOAWAY) with roomy and with tight receive limits, and the records a broken peer writes (a
 * continuation without its first record, pieces that do not add up, unknown flags and types, a negative body length,
 * a metadata count that lies). {@code -Dshmesh.fuzz.write-seeds=true} rewrites the checked-in files.
 */
class FrameSeedsTest {
    private static final Path INPUTS =
            Path.of("src/test/resources/dev/shmesh/grpc/shm/internal/FrameReaderFuzzTestInputs");

    @Test
    void checkedInSeedsAreWhatTheWriterWrites() throws IOException {
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        byte[] client = records(clientCall());
        byte[] server = records(serverCall());
        seeds.put("serverReadsClientRecords/seed-call", concat(limits(65535, 8192), client, read()));
        seeds.put("serverReadsClientRecords/seed-call-tight-limits", concat(limits(100, 40), client, read()));
        seeds.put("clientReadsServerRecords/seed-call", concat(limits(65535, 8192), server, read()));
        seeds.put("clientReadsServerRecords/seed-call-tight-limits", concat(limits(100, 40), server, read()));
        for (String side : new String[] {"serverReadsClientRecords", "clientReadsServerRecords"}) {
            seeds.put(side + "/seed-continuation-without-first", concat(limits(65535, 8192),
                    record(FrameDescriptor.MESSAGE, le(1, FrameDescriptor.FLAG_CONTINUATION, 7)), read()));
            seeds.put(side + "/seed-more-than-announced", concat(limits(65535, 8192),
                    record(FrameDescriptor.MESSAGE, concat(le(1, 0, 10), new byte[20])), read()));
            seeds.put(side + "/seed-unknown-flags", concat(limits(65535, 8192),
                    record(FrameDescriptor.MESSAGE, le(1, 0x80, 0)), read()));
            seeds.put(side + "/seed-unknown-type", concat(limits(65535, 8192), record(12, le(1, 0, 0)), read()));
            seeds.put(side + "/seed-negative-body-length", concat(limits(65535, 8192),
                    record(FrameDescriptor.MESSAGE, le(1, 0, -1)), read()));
            seeds.put(side + "/seed-new-frame-inside-another", concat(limits(65535, 8192),
                    record(FrameDescriptor.MESSAGE, concat(le(1, 0, 50), new byte[8])),
                    record(FrameDescriptor.WINDOW_UPDATE, le(1, 0, 4, 100)), read()));
        }
        // HEADERS whose metadata count says 2^30 entries in a body of 8 bytes
        seeds.put("serverReadsClientRecords/seed-metadata-count-lie", concat(limits(65535, 8192),
                record(FrameDescriptor.HEADERS, concat(le(1, 0, 16), le(1, 'm', 0, 1 << 30))), read()));
        seeds.put("clientReadsServerRecords/seed-unknown-status-code", concat(limits(65535, 8192),
                record(FrameDescriptor.TRAILERS, concat(le(1, 0, 12), le(99, 0, 0))), read()));
        boolean write = Boolean.getBoolean("shmesh.fuzz.write-seeds");
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            Path file = INPUTS.resolve(e.getKey());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, e.getValue());
            }
            assertTrue(Files.exists(file), file + " is missing: run with -Dshmesh.fuzz.write-seeds=true");
            assertArrayEquals(e.getValue(), Files.readAllBytes(file), file + " is not what the writer writes now:"
                    + " run with -Dshmesh.fuzz.write-seeds=true");
        }
    }

    private record Frame(int type, int stream, byte[] body) {}

    private static Metadata metadata() {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("x-user", Metadata.ASCII_STRING_MARSHALLER), "alice");
        m.put(Metadata.Key.of("grpc-timeout", Metadata.ASCII_STRING_MARSHALLER), "2S");
        m.put(Metadata.Key.of("x-trace-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[] {0, 1, 2, (byte) 0xFF});
        return m;
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 'x');
        return b;
    }

    private static Frame[] clientCall() {
        return new Frame[] {
            new Frame(FrameDescriptor.HEADERS, 1, FrameBodies.headers("shmesh.demo.v1.Compute/Digest", "compute", metadata())),
            new Frame(FrameDescriptor.MESSAGE, 1, bytes(40)),
            new Frame(FrameDescriptor.MESSAGE, 1, bytes(300)), // three records: fragmented
            new Frame(FrameDescriptor.WINDOW_UPDATE, 1, FrameBodies.windowUpdate(340)),
            new Frame(FrameDescriptor.HALF_CLOSE, 1, new byte[0]),
            new Frame(FrameDescriptor.HEADERS, 3, FrameBodies.headers("shmesh.demo.v1.Compute/Digest", null, new Metadata())),
            new Frame(FrameDescriptor.RST_STREAM, 3, FrameBodies.ending(Status.CANCELLED.withDescription("gave up"), null)),
            new Frame(FrameDescriptor.GOAWAY, 0, FrameBodies.ending(Status.UNAVAILABLE.withDescription("leaving"), null)),
        };
    }

    private static Frame[] serverCall() {
        Metadata trailers = new Metadata();
        trailers.put(Metadata.Key.of("x-cost", Metadata.ASCII_STRING_MARSHALLER), "12");
        return new Frame[] {
            new Frame(FrameDescriptor.RESPONSE_HEADERS, 1, FrameBodies.metadata(metadata())),
            new Frame(FrameDescriptor.MESSAGE, 1, bytes(32)),
            new Frame(FrameDescriptor.MESSAGE, 1, bytes(300)),
            new Frame(FrameDescriptor.WINDOW_UPDATE, 1, FrameBodies.windowUpdate(40)),
            new Frame(FrameDescriptor.TRAILERS, 1, FrameBodies.ending(Status.OK, trailers)),
            new Frame(FrameDescriptor.RST_STREAM, 3, FrameBodies.ending(Status.RESOURCE_EXHAUSTED
                    .withDescription("more than 100 concurrent streams"), null)),
            new Frame(FrameDescriptor.GOAWAY, 0, FrameBodies.ending(Status.UNAVAILABLE.withDescription("server shutting down"), null)),
        };
    }

    /** What {@link FrameWriter} puts in a ring of the fuzz test's capacity for {@code frames}, as input records. */
    private static byte[] records(Frame[] frames) throws IOException {
        ManyToOneRing ring = ManyToOneRing.createAnonymous("seeds", FrameReaderFuzzTest.RING_CAPACITY);
        dev.shmesh.linux.FileDescriptors.closeQuietly(ring.segment().anonymousFd());
        FrameWriter writer = new FrameWriter(ring);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) {
            assertTrue(writer.write(f.type(), f.stream(), f.body()));
            do {
                writer.flush();
                for (int i = 0; i < 2; i++) {
                    ring.poll((type, buffer, offset, length) -> out.writeBytes(
                            record(type, buffer.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE))), 1000);
                }
            } while (writer.hasPending());
        }
        return out.toByteArray();
    }

    private static byte[] limits(int maxMessage, int maxMetadata) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) maxMessage)
                .putShort((short) maxMetadata).array();
    }

    /** One record step: op 0, {@code type - 1} (the input's type is 1 + t % 12), u16 length, the payload. */
    private static byte[] record(int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(4 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.put((byte) 0).put((byte) (type - 1)).putShort((short) payload.length).put(payload).array();
    }

    private static byte[] read() {
        return new byte[] {FrameReaderFuzzTest.READ, 63};
    }

    private static byte[] le(int... ints) {
        ByteBuffer b = ByteBuffer.allocate(4 * ints.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : ints) {
            b.putInt(i);
        }
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
