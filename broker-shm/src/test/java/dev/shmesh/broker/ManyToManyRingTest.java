package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.internal.SlotDescriptor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ManyToManyRingTest extends RingContractTest {
    @Override
    Ring create(Path path) throws Exception {
        return ManyToManyRing.create(path, 64, 512);
    }

    @Override
    Ring open(Path path) throws Exception {
        return ManyToManyRing.open(path);
    }

    @Override
    void corruptNextRecord(Ring ring) {
        ring.buffer().set(ValueLayout.JAVA_LONG, SlotDescriptor.SEQUENCE_OFFSET, 123_456L);
    }

    @Override
    String corruptionReason() {
        return "bad slot sequence at position 0";
    }

    /**
     * Found by RingFuzzTest: a tail of -8 whose slot's sequence said free was claimed, and tryClaim returned the
     * position, -8, which is no sentinel, while the slot stayed claimed; a negative head is as impossible.
     */
    @Test
    void aNegativeTailOrHeadFencesTheRing() throws Exception {
        ManyToManyRing ring = (ManyToManyRing) ring("r");
        long control = dev.shmesh.broker.internal.SegmentHeaderDescriptor.LENGTH;
        ring.segment().memory().set(ValueLayout.JAVA_LONG, control + dev.shmesh.broker.internal.RingDescriptor.TAIL_OFFSET, -8L);
        long slot = ((-8L) & (ring.slots() - 1)) * SlotDescriptor.slotLength(512);
        ring.buffer().set(ValueLayout.JAVA_LONG, slot + SlotDescriptor.SEQUENCE_OFFSET, -8L);
        assertEquals(Ring.FENCED, ring.tryClaim(1, 8));
        assertTrue(ring.fenceReport().contains("bad tail position at position -8"), ring.fenceReport());

        ManyToManyRing other = (ManyToManyRing) ring("s");
        other.segment().memory().set(ValueLayout.JAVA_LONG, control + dev.shmesh.broker.internal.RingDescriptor.HEAD_OFFSET, -1L);
        assertEquals(Ring.FENCED, other.poll(new Collector(), 1));
        assertTrue(other.fenceReport().contains("bad head position at position -1"), other.fenceReport());
    }

    @Test
    void lengthBeyondTheSlotFences() throws Exception {
        Ring ring = ring("r");
        ring.offer(1, bytes(8, 0), 0, 8);
        ring.buffer().set(ValueLayout.JAVA_INT, SlotDescriptor.LENGTH_OFFSET, 100_000);
        assertEquals(Ring.FENCED, ring.poll(new Collector(), 1));
        assertTrue(ring.fenceReport().contains("bad record length"), ring.fenceReport());
    }

    @Test
    void aPositionIsClaimedUnreleasedOnlyWhileItsConsumerIsInsidePoll() throws Exception {
        ManyToManyRing ring = (ManyToManyRing) ring("r");
        ring.offer(1, bytes(8, 0), 0, 8);
        ring.offer(1, bytes(8, 0), 0, 8);
        assertEquals(0, ring.claimedUnreleased(), "published, not taken");
        int[] seenInside = new int[2];
        int[] calls = {0};
        assertEquals(2, ring.poll((type, buffer, offset, length) -> seenInside[calls[0]++] = ring.claimedUnreleased(), 2));
        assertEquals(1, seenInside[0], "the message being handled");
        assertEquals(1, seenInside[1], "the first one was released before the second was taken");
        assertEquals(0, ring.claimedUnreleased(), "all released after poll");
    }

    @Test
    void consumerThreadsShareTheWorkWithoutLossOrDuplicates() throws Exception {
        Ring ring = ring("r");
        int total = 200_000;
        BitSet seen = new BitSet(total);
        AtomicInteger received = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        List<Thread> consumers = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            consumers.add(Thread.ofPlatform().start(() -> {
                IdleStrategy idle = IdleStrategy.spinThenPark(ring, 100, 1_000_000L);
                while (received.get() < total) {
                    int n = ring.poll((type, buffer, offset, length) -> {
                        int i = buffer.get(ValueLayout.JAVA_INT_UNALIGNED, offset);
                        synchronized (seen) {
                            if (seen.get(i)) {
                                duplicates.incrementAndGet();
                            }
                            seen.set(i);
                        }
                        received.incrementAndGet();
                    }, 64);
                    idle.idle(n);
                }
            }));
        }
        MemorySegment src = Arena.ofAuto().allocate(4);
        for (int i = 0; i < total; i++) {
            src.set(ValueLayout.JAVA_INT, 0, i);
            while (ring.offer(1, src, 0, 4) < 0) {
                Thread.yield();
            }
        }
        for (Thread t : consumers) {
            t.join();
        }
        assertEquals(0, duplicates.get());
        assertEquals(total, seen.cardinality());
    }
}
