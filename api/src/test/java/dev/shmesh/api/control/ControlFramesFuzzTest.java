package dev.shmesh.api.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shmesh.api.control.v1.Envelope;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * {@link ControlFrames#read} on whatever a peer of the control socket may send: a frame, a clean end of stream, or an
 * {@link IOException} ({@link ControlFrames.ProtocolException} for a broken frame, {@link java.io.EOFException} for
 * one cut short) — never another exception, never more than {@link ControlFrames#MAX_FRAME_BYTES} allocated for a
 * body, whatever the length prefix says. Every frame read is re-encoded and read back equal.
 *
 * <p>Regression mode (every build) runs the inputs in {@code ControlFramesFuzzTestInputs/<method>/}; {@code
 * bench/fuzz.sh} fuzzes. The seeds there are what {@link ControlFrames#write} writes ({@link ControlFrameSeedsTest}).
 */
class ControlFramesFuzzTest {

    @FuzzTest
    void readFrames(byte[] stream) {
        // short reads, as a socket gives them: the frame reader must assemble prefix and body across reads
        InputStream in = new ShortReads(stream);
        for (int frames = 0; ; frames++) {
            Envelope envelope;
            try {
                envelope = ControlFrames.read(in);
            } catch (IOException refused) {
                return; // the connection is closed: nothing after a broken frame is read
            }
            if (envelope == null) {
                return;
            }
            assertNotEquals(Envelope.BodyCase.BODY_NOT_SET, envelope.getBodyCase());
            assertTrue(frames < stream.length / 5 + 1, "more frames than the bytes can hold");
            assertRoundTrips(envelope);
        }
    }

    private static void assertRoundTrips(Envelope envelope) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ControlFrames.write(out, envelope);
            byte[] frame = out.toByteArray();
            Envelope again = ControlFrames.read(new ByteArrayInputStream(frame));
            assertEquals(envelope, again);
            assertArrayEquals(envelope.toByteArray(), again.toByteArray());
        } catch (IOException e) {
            throw new AssertionError("a frame that was read is refused when written and read again: " + e, e);
        }
    }

    /** Hands out at most 1..7 bytes per read, in a fixed cycle. */
    private static final class ShortReads extends InputStream {
        private final byte[] bytes;
        private int position;
        private int reads;

        ShortReads(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return position < bytes.length ? bytes[position++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (position >= bytes.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, 1 + reads++ % 7), bytes.length - position);
            System.arraycopy(bytes, position, b, off, n);
            position += n;
            return n;
        }
    }
}
