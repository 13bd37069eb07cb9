package dev.shmesh.grpc.shm.internal;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Messages between grpc-java's marshallers and frame bodies, with as few copies as the API allows: a marshaller
 * that knows its length and can drain (protobuf's) serialises straight into the frame body; a received body is
 * handed over as a stream of known length, which protobuf's parser reads in one piece.
 */
final class MessageBytes {
    private MessageBytes() {}

    /** The bytes of an outbound message, read once and closed. */
    static byte[] read(InputStream message) throws IOException {
        try (message) {
            if (message instanceof KnownLength) {
                int n = message.available();
                byte[] body = new byte[n];
                if (message instanceof Drainable drainable) {
                    ArrayOutput out = new ArrayOutput(body);
                    drainable.drainTo(out);
                    if (out.position == n) {
                        return body;
                    }
                    throw new IOException("the marshaller announced " + n + " bytes and wrote " + out.position);
                }
                int read = message.readNBytes(body, 0, n);
                if (read == n && message.read() < 0) {
                    return body;
                }
                throw new IOException("the marshaller announced " + n + " bytes and gave " + (read < n ? read : "more"));
            }
            return message.readAllBytes();
        }
    }

    /** A received message body as the stream grpc-java hands to the application's marshaller. */
    static InputStream stream(byte[] body) {
        return new KnownLengthStream(body);
    }

    private static final class KnownLengthStream extends ByteArrayInputStream implements KnownLength {
        KnownLengthStream(byte[] body) {
            super(body);
        }
    }

    /** Writes into a fixed array; more bytes than it holds is an error, not a resize. */
    private static final class ArrayOutput extends OutputStream {
        private final byte[] array;
        int position;

        ArrayOutput(byte[] array) {
            this.array = array;
        }

        @Override
        public void write(int b) throws IOException {
            if (position >= array.length) {
                throw new IOException("message longer than its announced " + array.length + " bytes");
            }
            array[position++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > array.length - position) {
                throw new IOException("message longer than its announced " + array.length + " bytes");
            }
            System.arraycopy(b, off, array, position, len);
            position += len;
        }
    }
}
