package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.linux.Futex;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One suite, run against each {@link Ring} implementation. */
@Timeout(30)
abstract class RingContractTest {
    final ShmFiles files = new ShmFiles();
    private final List<Ring> rings = new ArrayList<>();
    final Arena arena = Arena.ofShared();

    /** A fresh ring at {@code path} holding at least a few dozen 64-byte messages and at most a few hundred. */
    abstract Ring create(Path path) throws Exception;

    abstract Ring open(Path path) throws Exception;

    /** Writes garbage where the consumer will read next, as a broken peer would. */
    abstract void corruptNextRecord(Ring ring);

    /** The text the fence report names for {@link #corruptNextRecord}. */
    abstract String corruptionReason();

    Ring ring(String name) throws Exception {
        Ring r = create(files.path(name));
        rings.add(r);
        return r;
    }

    @AfterEach
    void cleanUp() throws Exception {
        rings.forEach(Ring::close);
        arena.close();
        files.deleteAll();
    }

    record Message(int type, byte[] payload) {}

    static final class Collector implements MessageHandler {
        final List<Message> messages = new ArrayList<>();

        @Override
        public void onMessage(int type, MemorySegment buffer, long offset, int length) {
            messages.add(new Message(type, buffer.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    MemorySegment bytes(int length, int seed) {
        MemorySegment s = arena.allocate(Math.max(1, length));
        for (int i = 0; i < length; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (seed + i));
        }
        return s;
    }

    @Test
    void offeredMessagesArriveInOrderWithTypeAndBytes() throws Exception {
        Ring ring = ring("r");
        for (int i = 0; i < 10; i++) {
            assertTrue(ring.offer(1 + i, bytes(i * 7, i), 0, i * 7) >= 0);
        }
        Collector c = new Collector();
        assertEquals(4, ring.poll(c, 4));
        assertEquals(6, ring.poll(c, 100));
        assertEquals(0, ring.poll(c, 100));
        for (int i = 0; i < 10; i++) {
            assertEquals(1 + i, c.messages.get(i).type());
            assertEquals(i * 7, c.messages.get(i).payload().length);
            for (int j = 0; j < i * 7; j++) {
                assertEquals((byte) (i + j), c.messages.get(i).payload()[j]);
            }
        }
    }

    @Test
    void aSourceThatRefusesTheCopyLeavesNoClaimBehind() throws Exception {
        Ring ring = ring("r");
        MemorySegment tooShort = MemorySegment.ofArray(new byte[8]);
        assertThrows(IndexOutOfBoundsException.class, () -> ring.offer(1, tooShort, 4, 8));
        Arena closed = Arena.ofConfined();
        MemorySegment gone = closed.allocate(8);
        closed.close();
        assertThrows(IllegalStateException.class, () -> ring.offer(1, gone, 0, 8));
        assertTrue(ring.offer(2, bytes(8, 3), 0, 8) >= 0);
        Collector c = new Collector();
        assertEquals(1, ring.poll(c, 10), "the refused offers were aborted, so the next message is not stuck behind");
        assertEquals(2, c.messages.get(0).type());
        assertFalse(ring.isFenced(), ring.fenceReport());
    }

    @Test
    void manyLapsAroundTheRingKeepOrder() throws Exception {
        Ring ring = ring("r");
        Collector c = new Collector();
        int next = 0;
        int received = 0;
        MemorySegment src = arena.allocate(64);
        for (int round = 0; round < 2_000; round++) {
            for (int k = 0; k < 3; k++) {
                int len = 4 + (next % 61);
                src.set(ValueLayout.JAVA_INT, 0, next);
                if (ring.offer(1, src, 0, len) >= 0) {
                    next++;
                }
            }
            received += Math.max(0, ring.poll(c, 2));
        }
        while (received < next) {
            received += ring.poll(c, 100);
        }
        assertEquals(next, c.messages.size());
        for (int i = 0; i < next; i++) {
            Message m = c.messages.get(i);
            assertEquals(4 + (i % 61), m.payload().length);
            assertEquals(i, MemorySegment.ofArray(m.payload()).get(ValueLayout.JAVA_INT_UNALIGNED, 0));
        }
    }

    @Test
    void fullRingReturnsBackPressuredUntilDrained() throws Exception {
        Ring ring = ring("r");
        RingCounters counters;
        Path countersPath = files.path("counters");
        try (Counters table = Counters.create(countersPath, 4)) {
            counters = table.allocate("r");
            ring.bindCounters(counters);
            MemorySegment src = bytes(64, 0);
            int accepted = 0;
            while (ring.offer(1, src, 0, 64) >= 0) {
                accepted++;
                assertTrue(accepted < 100_000, "never back-pressured");
            }
            assertEquals(Ring.BACK_PRESSURED, ring.offer(1, src, 0, 64));
            assertTrue(accepted > 1);
            assertEquals(Ring.BACK_PRESSURED, ring.tryClaim(1, 64));
            Collector c = new Collector();
            assertEquals(accepted, ring.poll(c, Integer.MAX_VALUE));
            assertTrue(ring.offer(1, src, 0, 64) >= 0);
            assertEquals(accepted + 1, counters.enqueued());
            assertEquals(accepted, counters.dequeued());
            assertEquals(3, counters.backPressureEvents());
            assertEquals(0, counters.consumerLag(), "as seen by the last poll");
            assertEquals(0, counters.depth(), "as seen by the last poll");
            ring.bindCounters(null);
        }
    }

    @Test
    void tooLargeIsASentinelAndBadArgumentsAreCallerMistakes() throws Exception {
        Ring ring = ring("r");
        MemorySegment src = bytes(ring.maxPayloadLength() + 1, 0);
        assertEquals(Ring.TOO_LARGE, ring.offer(1, src, 0, ring.maxPayloadLength() + 1));
        assertTrue(ring.offer(1, src, 0, ring.maxPayloadLength()) >= 0);
        assertThrows(IllegalArgumentException.class, () -> ring.offer(0, src, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ring.tryClaim(1, -1));
        assertThrows(IllegalArgumentException.class, () -> ring.commit(3));
        assertThrows(IllegalArgumentException.class, () -> ring.poll(new Collector(), 0));
    }

    @Test
    void claimCommitAndAbortWithoutCopying() throws Exception {
        Ring ring = ring("r");
        int a = ring.tryClaim(5, 8);
        int b = ring.tryClaim(6, 8);
        int d = ring.tryClaim(7, 8);
        ring.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, a, 111L);
        ring.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, d, 333L);
        Collector c = new Collector();
        ring.commit(a);
        assertEquals(1, ring.poll(c, 10));
        ring.commit(d);
        assertEquals(0, ring.poll(c, 10), "the uncommitted claim in between holds later messages back");
        ring.abort(b);
        assertEquals(1, ring.poll(c, 10), "the aborted claim is skipped");
        assertEquals(List.of(5, 7), c.messages.stream().map(Message::type).toList());
        assertEquals(333L, MemorySegment.ofArray(c.messages.get(1).payload()).get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
    }

    @Test
    void closedRingRefusesProducersAndDrainsConsumers() throws Exception {
        Ring ring = ring("r");
        assertTrue(ring.offer(1, bytes(8, 0), 0, 8) >= 0);
        ring.closeRing();
        assertEquals(Ring.CLOSED, ring.offer(1, bytes(8, 0), 0, 8));
        assertEquals(1, ring.poll(new Collector(), 10));
        assertEquals(Ring.CLOSED, ring.poll(new Collector(), 10));
    }

    @Test
    void anotherMappingOfTheSameFileSeesTheMessages() throws Exception {
        Ring producer = ring("r");
        try (Ring consumer = open(producer.segment().path())) {
            assertTrue(producer.offer(9, bytes(3, 1), 0, 3) >= 0);
            Collector c = new Collector();
            assertEquals(1, consumer.poll(c, 10));
            assertEquals(9, c.messages.get(0).type());
        }
    }

    @Test
    void corruptionFencesThatRingOnlyAndIsReported() throws Exception {
        Ring bad = ring("bad");
        Ring good = ring("good");
        AtomicInteger fenced = new AtomicInteger();
        List<String> reports = new ArrayList<>();
        bad.onCorruption((r, report) -> {
            fenced.incrementAndGet();
            reports.add(report);
        });
        assertTrue(bad.offer(1, bytes(8, 0), 0, 8) >= 0);
        corruptNextRecord(bad);
        assertEquals(Ring.FENCED, bad.poll(new Collector(), 10));
        assertTrue(bad.isFenced());
        assertEquals(1, fenced.get());
        String report = bad.fenceReport();
        assertEquals(report, reports.get(0));
        assertTrue(report.contains(corruptionReason()), report);
        assertTrue(report.contains(bad.segment().path().toString()), report);
        assertTrue(report.contains("pid " + ProcessHandle.current().pid()), report);
        assertEquals(Ring.FENCED, bad.offer(1, bytes(8, 0), 0, 8));
        assertEquals(Ring.FENCED, bad.poll(new Collector(), 10));
        assertEquals(1, fenced.get(), "reported once");
        try (Ring again = open(bad.segment().path())) {
            assertTrue(again.isFenced(), "the fence is in shared memory, every process sees it");
            assertEquals(Ring.FENCED, again.tryClaim(1, 8));
        }
        assertTrue(good.offer(1, bytes(8, 0), 0, 8) >= 0);
        assertEquals(1, good.poll(new Collector(), 10));
        assertFalse(good.isFenced());
        assertEquals("", good.fenceReport());
    }

    /** Found by RingFuzzTest: a state word of -1 made producers answer FENCED while the consumer went on. */
    @Test
    void aStateWordNoRingWritesFencesTheRingForEveryParty() throws Exception {
        Ring ring = ring("r");
        assertTrue(ring.offer(1, bytes(8, 0), 0, 8) >= 0);
        ring.segment().memory().set(ValueLayout.JAVA_INT,
                dev.shmesh.broker.internal.SegmentHeaderDescriptor.LENGTH
                        + dev.shmesh.broker.internal.RingDescriptor.STATE_OFFSET, -1);
        assertEquals(Ring.FENCED, ring.poll(new Collector(), 10), "the consumer does not read on");
        assertTrue(ring.isFenced());
        assertTrue(ring.fenceReport().contains("bad state word at position -1"), ring.fenceReport());
        assertEquals(Ring.FENCED, ring.offer(1, bytes(8, 0), 0, 8));
    }

    @Test
    void handlerExceptionConsumesThatMessageAndKeepsTheRingConsistent() throws Exception {
        Ring ring = ring("r");
        for (int i = 1; i <= 3; i++) {
            ring.offer(i, bytes(8, 0), 0, 8);
        }
        assertThrows(IllegalStateException.class, () -> ring.poll((t, b, o, l) -> {
            if (t == 2) {
                throw new IllegalStateException("handler failed");
            }
        }, 10));
        Collector c = new Collector();
        assertEquals(1, ring.poll(c, 10));
        assertEquals(3, c.messages.get(0).type());
    }

    @Test
    void parkedConsumerIsWokenByAProducerOnAnotherThread() throws Exception {
        Ring ring = ring("r");
        AbstractRing shared = (AbstractRing) ring;
        java.util.concurrent.atomic.AtomicLong consumerTid = new java.util.concurrent.atomic.AtomicLong(-1);
        CompletableFuture<Integer> consumer = CompletableFuture.supplyAsync(() -> {
            consumerTid.set(FutexSleepers.tid());
            int r;
            do {
                r = ring.awaitWork(20_000_000_000L);
            } while (r == Futex.WOKEN && ring.poll(new Collector(), 1) == 0); // spurious wake-up
            return r;
        });
        // the consumer has advertised itself (SLEEPERS) and sleeps in futex(2) on the ring's word: the offer must wake it
        long futexWord = shared.memory.address() + shared.futexOffset;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!FutexSleepers.asleepInFutex(consumerTid.get(), futexWord)) {
            assertTrue(System.nanoTime() - deadline < 0, "the consumer never went to sleep");
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L); // the poll interval
        }
        assertTrue(ring.offer(1, bytes(8, 0), 0, 8) >= 0);
        assertEquals(Futex.WOKEN, consumer.get(20, TimeUnit.SECONDS));
    }

    @Test
    void awaitWorkReturnsAtOnceWhenThereIsWorkAndTimesOutWhenThereIsNone() throws Exception {
        Ring ring = ring("r");
        assertEquals(Futex.TIMED_OUT, ring.awaitWork(1_000_000L));
        ring.offer(1, bytes(8, 0), 0, 8);
        assertEquals(Futex.VALUE_CHANGED, ring.awaitWork(10_000_000_000L));
    }

    @Test
    void producerThreadsInterleaveWithoutLossOrDuplicates() throws Exception {
        Ring ring = ring("r");
        int producers = 3;
        int perProducer = 50_000;
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            Thread t = Thread.ofPlatform().start(() -> {
                MemorySegment src = Arena.ofAuto().allocate(16);
                for (int i = 0; i < perProducer; i++) {
                    src.set(ValueLayout.JAVA_LONG, 0, id);
                    src.set(ValueLayout.JAVA_LONG, 8, i);
                    while (ring.offer(1, src, 0, 16) < 0) {
                        Thread.yield();
                    }
                }
            });
            threads.add(t);
        }
        long[] next = new long[producers];
        int[] total = {0};
        IdleStrategy idle = IdleStrategy.spinThenPark(ring, 100, 1_000_000L);
        while (total[0] < producers * perProducer) {
            int n = ring.poll((type, buffer, offset, length) -> {
                int id = (int) buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
                long seq = buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8);
                assertEquals(next[id], seq, "producer " + id);
                next[id]++;
                total[0]++;
            }, 256);
            assertTrue(n >= 0, "poll returned " + n + ": " + ring.fenceReport());
            idle.idle(n);
        }
        for (Thread t : threads) {
            t.join();
        }
        for (long n : next) {
            assertEquals(perProducer, n);
        }
    }
}
