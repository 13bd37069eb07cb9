package dev.shmesh.grpc.shm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Every number of the wire protocol as a literal: a change to it is a deliberate diff here too. */
class FrameDescriptorGoldenTest {
    @Test
    void handshake() {
        assertEquals(0x31435052474d4853L, FrameDescriptor.MAGIC);
        assertEquals("SHMGRPC1", new String(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(FrameDescriptor.MAGIC).array(), java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(1, FrameDescriptor.VERSION);
        assertEquals(16, FrameDescriptor.HELLO_LENGTH);
        assertEquals(20, FrameDescriptor.ANSWER_LENGTH);
        assertEquals(0, FrameDescriptor.ANSWER_OK);
    }

    @Test
    void recordLayout() {
        assertEquals(0, FrameDescriptor.STREAM_ID_OFFSET);
        assertEquals(4, FrameDescriptor.FLAGS_OFFSET);
        assertEquals(8, FrameDescriptor.BODY_LENGTH_OFFSET);
        assertEquals(12, FrameDescriptor.FIRST_HEADER_LENGTH);
        assertEquals(8, FrameDescriptor.CONTINUATION_HEADER_LENGTH);
        assertEquals(1, FrameDescriptor.FLAG_CONTINUATION);
    }

    @Test
    void frameTypes() {
        assertEquals(1, FrameDescriptor.HEADERS);
        assertEquals(2, FrameDescriptor.RESPONSE_HEADERS);
        assertEquals(3, FrameDescriptor.MESSAGE);
        assertEquals(4, FrameDescriptor.HALF_CLOSE);
        assertEquals(5, FrameDescriptor.TRAILERS);
        assertEquals(6, FrameDescriptor.RST_STREAM);
        assertEquals(7, FrameDescriptor.WINDOW_UPDATE);
        assertEquals(8, FrameDescriptor.GOAWAY);
        assertEquals(8, FrameDescriptor.MAX_TYPE);
    }
}
