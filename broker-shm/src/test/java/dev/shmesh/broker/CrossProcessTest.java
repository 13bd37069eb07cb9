package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.linux.Futex;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Real child JVMs map the same /dev/shm file and produce; this JVM consumes. */
@Timeout(60)
class CrossProcessTest {
    private static final int PRODUCERS = 2;
    private static final int PER_PRODUCER = 500_000;

    private final ShmFiles files = new ShmFiles();
    private final ChildJvms children = new ChildJvms();

    @AfterEach
    void cleanUp() throws Exception {
        children.close();
        files.deleteAll();
    }

    private Process child(String... args) throws Exception {
        return children.start(args);
    }

    private void awaitChildren() throws Exception {
        for (Process p : children.all()) {
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child " + p.pid() + " did not finish");
            assertEquals(0, p.exitValue(), "child " + p.pid() + " exit code");
        }
    }

    @Test
    void millionMessagesFromTwoProducerProcessesArriveOnceAndInProducerOrder() throws Exception {
        Path path = files.path("mpsc");
        Path countersPath = files.path("counters");
        try (ManyToOneRing ring = ManyToOneRing.create(path, 64 * 1024);
                Counters counters = Counters.create(countersPath, 4)) {
            RingCounters ringCounters = counters.allocate("ring");
            ring.bindCounters(ringCounters);
            for (int p = 0; p < PRODUCERS; p++) {
                child("produce", "mpsc", path.toString(), Integer.toString(p), Integer.toString(PER_PRODUCER),
                        countersPath.toString());
            }
            long[] next = new long[PRODUCERS];
            long[] errors = new long[1];
            int total = 0;
            IdleStrategy idle = IdleStrategy.spinThenPark(ring, 1_000, 1_000_000L);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
            while (total < PRODUCERS * PER_PRODUCER && System.nanoTime() < deadline) {
                int n = ring.poll((type, buffer, offset, length) -> {
                    int id = (int) buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
                    long seq = buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8);
                    if (type != 1 || length != 16 || id < 0 || id >= PRODUCERS || seq != next[id]) {
                        errors[0]++;
                    } else {
                        next[id]++;
                    }
                }, 1024);
                assertTrue(n >= 0, "poll returned " + n + " " + ring.fenceReport());
                total += n;
                idle.idle(n);
            }
            awaitChildren();
            assertEquals(0, errors[0], "messages lost, duplicated or out of producer order");
            for (int p = 0; p < PRODUCERS; p++) {
                assertEquals(PER_PRODUCER, next[p], "producer " + p);
            }
            assertEquals(0, ring.poll((t, b, o, l) -> {}, 10), "nothing extra");
            // the children counted their offers into the same counters segment; read it as /metrics would
            try (CountersReader reader = CountersReader.open(countersPath)) {
                assertEquals(1, reader.size());
                assertEquals("ring", reader.label(0));
                assertEquals((long) PRODUCERS * PER_PRODUCER, reader.snapshot().get("ring").get("enqueued"));
                assertEquals((long) PRODUCERS * PER_PRODUCER, reader.snapshot().get("ring").get("dequeued"));
            }
        }
    }

    @Test
    void manyToManyAcrossProcessesLosesAndDuplicatesNothing() throws Exception {
        Path path = files.path("mpmc");
        int perProducer = 200_000;
        try (ManyToManyRing ring = ManyToManyRing.create(path, 1024, 64)) {
            for (int p = 0; p < PRODUCERS; p++) {
                child("produce", "mpmc", path.toString(), Integer.toString(p), Integer.toString(perProducer));
            }
            BitSet[] seen = {new BitSet(perProducer), new BitSet(perProducer)};
            AtomicInteger received = new AtomicInteger();
            AtomicLong errors = new AtomicLong();
            List<Thread> consumers = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
            for (int c = 0; c < 2; c++) {
                consumers.add(Thread.ofPlatform().start(() -> {
                    IdleStrategy idle = IdleStrategy.spinThenPark(ring, 1_000, 1_000_000L);
                    while (received.get() < PRODUCERS * perProducer && System.nanoTime() < deadline) {
                        int n = ring.poll((type, buffer, offset, length) -> {
                            int id = (int) buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
                            int seq = (int) buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8);
                            if (id < 0 || id >= PRODUCERS || seq < 0 || seq >= perProducer) {
                                errors.incrementAndGet();
                                return;
                            }
                            synchronized (seen) {
                                if (seen[id].get(seq)) {
                                    errors.incrementAndGet();
                                }
                                seen[id].set(seq);
                            }
                        }, 256);
                        if (n < 0) {
                            errors.incrementAndGet();
                            return;
                        }
                        received.addAndGet(n);
                        idle.idle(n);
                    }
                }));
            }
            for (Thread t : consumers) {
                t.join();
            }
            awaitChildren();
            assertEquals(0, errors.get(), ring.fenceReport());
            assertEquals(perProducer, seen[0].cardinality());
            assertEquals(perProducer, seen[1].cardinality());
        }
    }

    @Test
    void aProducerProcessThatDiesBetweenClaimAndCommitIsUnblocked() throws Exception {
        Path path = files.path("dead-producer");
        try (ManyToOneRing ring = ManyToOneRing.create(path, 4096)) {
            Process p = child("claim-and-die", "mpsc", path.toString());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(42, p.exitValue(), "the child claimed and halted");
            java.lang.foreign.MemorySegment src = java.lang.foreign.MemorySegment.ofArray(new long[] {77L});
            assertTrue(ring.offer(2, src, 0, 8) >= 0);
            long[] got = {0};
            MessageHandler handler = (t, b, o, l) -> got[0] = b.get(ValueLayout.JAVA_LONG_UNALIGNED, o);
            assertEquals(0, ring.poll(handler, 10), "stuck behind the dead producer's claim");
            assertTrue(ring.unblock());
            assertEquals(1, ring.poll(handler, 10));
            assertEquals(77L, got[0]);
            assertTrue(!ring.isFenced(), ring.fenceReport());
        }
    }

    @Test
    void aParkedConsumerIsWokenByAProducerInAnotherProcess() throws Exception {
        Path path = files.path("wake");
        try (ManyToOneRing ring = ManyToOneRing.create(path, 4096)) {
            child("wake", "mpsc", path.toString(), "300");
            // the child needs a JVM start plus 300 ms; the wait must end by the futex wake, not its 30 s timeout
            int result = ring.awaitWork(TimeUnit.SECONDS.toNanos(30));
            int[] got = {0};
            while (got[0] == 0) {
                ring.poll((t, b, o, l) -> got[0] = (int) b.get(ValueLayout.JAVA_LONG_UNALIGNED, o), 1);
                if (got[0] == 0) {
                    result = ring.awaitWork(TimeUnit.SECONDS.toNanos(30)); // a spurious wake-up
                }
            }
            assertEquals(77, got[0]);
            assertTrue(result == Futex.WOKEN || result == Futex.VALUE_CHANGED, "wait result " + result);
            awaitChildren();
        }
    }
}
