package dev.shmesh.broker;

import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.broker.internal.RingDescriptor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ManyToOneRingTest extends RingContractTest {
    @Override
    Ring create(Path path) throws Exception {
        return ManyToOneRing.create(path, 4096);
    }

    @Override
    Ring open(Path path) throws Exception {
        return ManyToOneRing.open(path);
    }

    @Override
    void corruptNextRecord(Ring ring) {
        ring.buffer().set(ValueLayout.JAVA_INT, 0, 1 << 20); // length far beyond the ring
    }

    @Override
    String corruptionReason() {
        return "bad record length at position 0";
    }

    @Test
    void negativeTypeFences() throws Exception {
        Ring ring = ring("r");
        ring.offer(1, bytes(8, 0), 0, 8);
        ring.buffer().set(ValueLayout.JAVA_INT, 4, -7);
        assertEquals(Ring.FENCED, ring.poll(new Collector(), 1));
        assertTrue(ring.fenceReport().contains("bad record type"), ring.fenceReport());
    }

    @Test
    void aHeadBeyondTheTailFencesProducers() throws Exception {
        Ring ring = ring("r");
        ring.segment().memory().set(ValueLayout.JAVA_LONG,
                SegmentHeaderDescriptor.LENGTH + RingDescriptor.HEAD_OFFSET, 1L << 40);
        int result;
        int accepted = 0;
        // producers trust their head cache until it says "full"; then they read the real head and check it
        while ((result = ring.offer(1, bytes(8, 0), 0, 8)) >= 0) {
            assertTrue(++accepted < 10_000);
        }
        assertEquals(Ring.FENCED, result);
        assertTrue(ring.fenceReport().contains("bad head position at position 1099511627776"), ring.fenceReport());
    }

    @Test
    void unalignedTailOrHeadFencesInsteadOfThrowing() throws Exception {
        Ring producerSide = ring("p");
        producerSide.segment().memory().set(ValueLayout.JAVA_LONG,
                SegmentHeaderDescriptor.LENGTH + RingDescriptor.TAIL_OFFSET, 3L);
        assertEquals(Ring.FENCED, producerSide.tryClaim(1, 8));
        assertTrue(producerSide.fenceReport().contains("bad tail position at position 3"), producerSide.fenceReport());
        Ring consumerSide = ring("c");
        consumerSide.segment().memory().set(ValueLayout.JAVA_LONG,
                SegmentHeaderDescriptor.LENGTH + RingDescriptor.HEAD_OFFSET, 5L);
        assertEquals(Ring.FENCED, consumerSide.poll(new Collector(), 1));
        assertTrue(consumerSide.fenceReport().contains("bad head position at position 5"), consumerSide.fenceReport());
    }

    @Test
    void inconsistentConfigIsRefusedOnAttach() throws Exception {
        Ring ring = ring("r");
        ring.segment().memory().set(ValueLayout.JAVA_INT,
                SegmentHeaderDescriptor.LENGTH + RingDescriptor.CAPACITY_OFFSET, 3000);
        ShmFormatException e = assertThrows(ShmFormatException.class, () -> open(ring.segment().path()));
        assertTrue(e.getMessage().contains("ring config is inconsistent"), e.getMessage());
    }

    @Test
    void unblockSkipsAClaimItsProducerNeverCommits() throws Exception {
        ManyToOneRing ring = (ManyToOneRing) ring("r");
        assertEquals(false, ring.unblock(), "nothing to unblock in an empty ring");
        int stuck = ring.tryClaim(5, 16); // a producer that dies here
        ring.offer(6, bytes(8, 0), 0, 8);
        Collector c = new Collector();
        assertEquals(0, ring.poll(c, 10), "the consumer waits for the claimed record");
        assertTrue(ring.unblock());
        assertEquals(1, ring.poll(c, 10));
        assertEquals(6, c.messages.get(0).type());
        ring.commit(stuck); // a late commit of a revoked claim is dropped, not published and not fatal
        assertEquals(0, ring.poll(c, 10));
        assertTrue(ring.offer(7, bytes(8, 0), 0, 8) >= 0);
        assertEquals(1, ring.poll(c, 10));
        assertEquals(false, ring.isFenced(), ring.fenceReport());
        assertEquals(false, ring.unblock(), "a published record is not touched");
    }

    @Test
    void aReadOnlyMappingIsRefused() throws Exception {
        Ring ring = ring("r");
        try (ShmSegment readOnly = ShmSegment.open(ring.segment().path(), SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING,
                true)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ManyToOneRing.attach(readOnly));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
    }

    /*
     * The hot paths write through ADDRESS_SPACE, which no close() on another thread can guard: the ring's mapping
     * must stay until the ring is unreachable. A producer racing close() keeps working; the mapping goes at a GC.
     */
    @Test
    void closeLeavesTheMappingToTheGcSoARacingProducerIsHarmless() throws Exception {
        Path path = files.path("r");
        WeakReference<ManyToOneRing> dropped = closeUnderARacingProducer(path);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (mapped(path) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(dropped.get());
        assertFalse(mapped(path), "an unreachable ring's mapping is released");
    }

    /** Closes a ring while another thread offers and polls on it; returns the ring, by then unreferenced. */
    private static WeakReference<ManyToOneRing> closeUnderARacingProducer(Path path) throws Exception {
        ManyToOneRing ring = ManyToOneRing.create(path, 4096);
        AtomicLong offered = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread producer = Thread.ofPlatform().daemon().start(() -> {
            MemorySegment source = MemorySegment.ofArray(new byte[8]);
            while (!stop.get()) {
                if (ring.offer(1, source, 0, 8) >= 0) {
                    offered.incrementAndGet();
                }
                ring.poll((type, buffer, offset, length) -> { }, 64);
            }
        });
        try {
            awaitMore(offered, 0);
            ring.close();
            awaitMore(offered, offered.get() + 1000); // still mapped: the producer goes on
            assertTrue(mapped(path), "close() leaves a ring's mapping to the GC");
        } finally {
            stop.set(true);
            producer.join(10_000);
        }
        assertFalse(producer.isAlive());
        return new WeakReference<>(ring);
    }

    private static void awaitMore(AtomicLong counter, long than) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (counter.get() <= than) {
            assertTrue(System.nanoTime() < deadline, "the producer stalled at " + counter.get());
            Thread.onSpinWait();
        }
    }

    @Test
    void otherSegmentsAreUnmappedByClose() throws Exception {
        Path path = files.path("leases");
        LeaseTable table = LeaseTable.create(path, 16, 64);
        assertTrue(mapped(path));
        table.close();
        assertFalse(mapped(path), "close() unmaps a lease table at once");
    }

    /** Whether this process maps {@code path} ({@code /proc/self/maps}). */
    private static boolean mapped(Path path) throws IOException {
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.anyMatch(line -> line.endsWith(" " + path));
        }
    }

    @Test
    void capacityMustBeAPowerOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> ManyToOneRing.create(files.path("x"), 5000));
    }
}
