package dev.shmesh.bench;

import dev.shmesh.broker.ManyToManyRing;
import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.MessageHandler;
import dev.shmesh.broker.Ring;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

/**
 * One ring under test, behind the same two calls, living in a {@code /dev/shm} file so that another process can
 * map it: {@code shmesh-mpsc}, {@code shmesh-mpmc}, {@code agrona-mpsc}, {@code agrona-spsc}. The consumer reads
 * the first 8 payload bytes of every message so that the payload is actually touched.
 */
abstract class BenchRing implements AutoCloseable {
    static final int CAPACITY = 1 << 20;

    long checksum;

    /** One attempt to send {@code length} payload bytes with {@code value} in its first 8; false when full. */
    abstract boolean offer(long value, int length);

    /** Receives up to {@code limit} messages; returns how many. */
    abstract int poll(int limit);

    /** The first 8 payload bytes of the last message received. */
    long last;

    @Override
    public abstract void close();

    static BenchRing create(String impl, Path path, int maxPayload) throws IOException {
        return make(impl, path, maxPayload, true);
    }

    static BenchRing open(String impl, Path path, int maxPayload) throws IOException {
        return make(impl, path, maxPayload, false);
    }

    private static BenchRing make(String impl, Path path, int maxPayload, boolean create) throws IOException {
        return switch (impl) {
            case "shmesh-mpsc" -> new Shmesh(create ? ManyToOneRing.create(path, CAPACITY) : ManyToOneRing.open(path));
            case "shmesh-mpmc" -> {
                int slots = Integer.highestOneBit(CAPACITY / (16 + ((maxPayload + 7) & -8)));
                yield new Shmesh(create ? ManyToManyRing.create(path, slots, maxPayload) : ManyToManyRing.open(path));
            }
            case "agrona-mpsc", "agrona-spsc" -> new Agrona(impl.equals("agrona-mpsc"), path, create);
            default -> throw new IllegalArgumentException("impl=" + impl
                    + " must be shmesh-mpsc, shmesh-mpmc, agrona-mpsc or agrona-spsc");
        };
    }

    static final class Shmesh extends BenchRing {
        private final Ring ring;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment src = arena.allocate(64 * 1024, 64);
        private final MessageHandler handler = (type, buffer, offset, length) -> {
            last = buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
            checksum += last;
        };

        Shmesh(Ring ring) {
            this.ring = ring;
        }

        Ring ring() {
            return ring;
        }

        @Override
        boolean offer(long value, int length) {
            src.set(ValueLayout.JAVA_LONG, 0, value);
            return ring.offer(1, src, 0, length) >= 0;
        }

        @Override
        int poll(int limit) {
            return ring.poll(handler, limit);
        }

        @Override
        public void close() {
            ring.close();
            arena.close();
        }
    }

    static final class Agrona extends BenchRing {
        private final Arena arena = Arena.ofShared();
        private final RingBuffer ring;
        private final UnsafeBuffer src;
        private final org.agrona.concurrent.MessageHandler handler = (type, buffer, index, length) -> {
            last = buffer.getLong(index);
            checksum += last;
        };

        Agrona(boolean mpsc, Path path, boolean create) throws IOException {
            int length = CAPACITY + RingBufferDescriptor.TRAILER_LENGTH;
            EnumSet<StandardOpenOption> options = create
                    ? EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : EnumSet.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
            MemorySegment mapped;
            try (FileChannel ch = FileChannel.open(path, options)) {
                if (create) {
                    ch.write(ByteBuffer.allocate(length), 0);
                }
                mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, length, arena);
            }
            UnsafeBuffer buffer = new UnsafeBuffer(mapped.address(), length);
            this.ring = mpsc ? new ManyToOneRingBuffer(buffer) : new OneToOneRingBuffer(buffer);
            MemorySegment s = arena.allocate(64 * 1024, 64);
            this.src = new UnsafeBuffer(s.address(), (int) s.byteSize());
        }

        @Override
        boolean offer(long value, int length) {
            src.putLong(0, value);
            return ring.write(1, src, 0, length);
        }

        @Override
        int poll(int limit) {
            return ring.read(handler, limit);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    static Path tempPath(String impl) {
        return Path.of("/dev/shm", "shmesh-bench-" + impl + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    static void delete(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a leftover file in /dev/shm is visible to the operator; nothing else to do here
        }
    }
}
