package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** Test messages that follow the request-id convention: the first 8 payload bytes are the id, type 3. */
final class Requests {
    private Requests() {}

    /** Offers request {@code id} (then {@code id * 10}, padded to {@code length} bytes); asserts it was taken. */
    static void offer(Arena arena, MessageSink ring, long id, int length) {
        MemorySegment src = arena.allocate(length);
        src.set(ValueLayout.JAVA_LONG, 0, id);
        src.set(ValueLayout.JAVA_LONG, 8, id * 10);
        assertTrue(ring.offer(3, src, 0, length) >= 0, "offer of request " + id);
    }

    /** The ids of up to 100 messages polled from {@code ring}, in order. */
    static List<Long> drain(Ring ring) {
        List<Long> ids = new ArrayList<>();
        ring.poll((type, buffer, offset, length) -> ids.add(buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset)), 100);
        return ids;
    }
}
