package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class LeaseTableTest {
    private final ShmFiles files = new ShmFiles();
    private final Arena arena = Arena.ofShared();
    private final ChildJvms children = new ChildJvms();
    /** The tables' clock, moved by hand: lease expiry is tested without sleeping. */
    private final AtomicLong now = new AtomicLong(1_000_000);

    @AfterEach
    void cleanUp() throws Exception {
        children.close();
        arena.close();
        files.deleteAll();
    }

    private void offerRequest(Ring ring, long requestId) {
        Requests.offer(arena, ring, requestId, 24);
    }

    private static List<Long> drainRequestIds(Ring ring) {
        return Requests.drain(ring);
    }

    @Test
    void completedLeasesAreNotRedelivered() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 8, ring.maxPayloadLength())) {
            offerRequest(ring, 41);
            offerRequest(ring, 42);
            List<Integer> held = new ArrayList<>();
            List<Long> ids = new ArrayList<>();
            assertEquals(2, leases.pollLeased(ring, (lease, requestId, type, payload, offset, length) -> {
                held.add(lease);
                ids.add(requestId);
                assertEquals(3, type);
                assertEquals(requestId * 10, payload.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8));
            }, 10, TimeUnit.SECONDS.toNanos(30)));
            assertEquals(List.of(41L, 42L), ids);
            assertEquals(2, leases.inUse());
            held.forEach(lease -> assertTrue(leases.complete(lease)));
            assertEquals(0, leases.inUse());
            assertEquals(0, leases.reap(ring));
            assertEquals(List.of(), drainRequestIds(ring));
        }
    }

    @Test
    void anExpiredLeaseIsRedeliveredOnceAndItsLateCompletionIsRefused() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 8, ring.maxPayloadLength());
                Counters counters = Counters.create(files.path("counters"), 2)) {
            RingCounters rc = counters.allocate("ring");
            leases.useClock(now::get).bindCounters(rc);
            offerRequest(ring, 7);
            int[] lease = {-1};
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> lease[0] = l, 10, 1));
            now.addAndGet(2); // the 1 ns lease is over
            assertEquals(1, leases.reap(ring));
            assertEquals(0, leases.reap(ring), "redelivered once");
            assertFalse(leases.complete(lease[0]), "the lease was taken back");
            assertFalse(leases.extend(lease[0], 1_000_000_000L));
            assertEquals(List.of(7L), drainRequestIds(ring));
            assertEquals(1, rc.redelivered());
            assertEquals(1, rc.leasesExpired());
        }
    }

    @Test
    void aRedeliveryTheRingRefusesStaysLeasedForTheNextReap() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 1024);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 4, ring.maxPayloadLength())) {
            leases.useClock(now::get);
            offerRequest(ring, 9);
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> {}, 1, 1));
            MemorySegment filler = arena.allocate(24);
            while (ring.offer(1, filler, 0, 24) >= 0) {
                // fill the ring
            }
            now.addAndGet(2); // the 1 ns lease is over
            assertEquals(0, leases.reap(ring));
            assertEquals(1, leases.inUse());
            while (ring.poll((t, b, o, l) -> {}, 100) > 0) {
                // drain
            }
            assertEquals(1, leases.reap(ring));
            assertEquals(List.of(9L), drainRequestIds(ring));
        }
    }

    @Test
    void aLeaseExpiresOnlyAfterItsDeadline() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 4, ring.maxPayloadLength())) {
            leases.useClock(now::get);
            offerRequest(ring, 5);
            int[] lease = {-1};
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> lease[0] = l, 1, 100));
            now.addAndGet(99);
            assertEquals(0, leases.reap(ring), "1 ns before the deadline");
            now.addAndGet(1);
            assertEquals(0, leases.reap(ring), "at the deadline: still held");
            assertEquals(List.of(), drainRequestIds(ring));
            now.addAndGet(1);
            assertEquals(1, leases.reap(ring), "1 ns past the deadline: redelivered");
            assertEquals(List.of(5L), drainRequestIds(ring));
            assertFalse(leases.complete(lease[0]));
        }
    }

    @Test
    void extendMovesTheDeadlineToNowPlusTheNewLease() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 4, ring.maxPayloadLength())) {
            leases.useClock(now::get);
            offerRequest(ring, 6);
            int[] lease = {-1};
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> lease[0] = l, 1, 100));
            now.addAndGet(90);
            assertTrue(leases.extend(lease[0], 100)); // deadline: 90 + 100 from the lease's start
            now.addAndGet(60);
            assertEquals(0, leases.reap(ring), "past the first deadline, within the extended one");
            now.addAndGet(41);
            assertEquals(1, leases.reap(ring), "past the extended deadline");
            assertEquals(List.of(6L), drainRequestIds(ring));
        }
    }

    @Test
    void aDeadlineAcrossTheClocksWrapStillExpiresInOrder() throws Exception {
        now.set(Long.MAX_VALUE - 50); // nanoTime values may be anywhere, and wrap
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 4, ring.maxPayloadLength())) {
            leases.useClock(now::get);
            offerRequest(ring, 8);
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> {}, 1, 100)); // deadline wraps past MAX
            now.set(Long.MAX_VALUE);
            assertEquals(0, leases.reap(ring), "before the wrapped deadline");
            now.set(Long.MIN_VALUE + 50); // 101 ns after the lease was taken
            assertEquals(1, leases.reap(ring), "after it");
            assertEquals(List.of(8L), drainRequestIds(ring));
        }
    }

    @Test
    void anAdoptedMessageIsRedeliveredByTheFirstReapAfterTheClockMoved() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 4, ring.maxPayloadLength())) {
            leases.useClock(now::get);
            MemorySegment rescued = arena.allocate(24);
            rescued.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 77L);
            assertTrue(leases.adopt(3, rescued, 0, 24));
            now.addAndGet(1);
            assertEquals(1, leases.reap(ring), "an adopted message's lease is over as soon as time moves");
            assertEquals(List.of(77L), drainRequestIds(ring));
        }
    }

    @Test
    void noFreeLeaseLeavesTheMessageInTheRing() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("ring"), 4096);
                LeaseTable leases = LeaseTable.create(files.path("leases"), 1, ring.maxPayloadLength())) {
            offerRequest(ring, 1);
            offerRequest(ring, 2);
            long hour = TimeUnit.HOURS.toNanos(1);
            assertEquals(1, leases.pollLeased(ring, (l, id, t, p, o, n) -> {}, 10, hour));
            assertEquals(LeaseTable.NO_FREE_LEASE, leases.pollLeased(ring, (l, id, t, p, o, n) -> {}, 10, hour));
            assertEquals(List.of(2L), drainRequestIds(ring));
        }
    }

    @Test
    void aConsumerProcessThatDiesHoldingALeaseHasItsMessageRedelivered() throws Exception {
        Path ringPath = files.path("ring");
        Path leasesPath = files.path("leases");
        try (ManyToOneRing ring = ManyToOneRing.create(ringPath, 4096);
                LeaseTable leases = LeaseTable.create(leasesPath, 8, ring.maxPayloadLength())) {
            offerRequest(ring, 99);
            Process child = children.start("lease-and-die", "mpsc", ringPath.toString(), leasesPath.toString());
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(42, child.exitValue(), "the child leased the message and halted");
            assertEquals(List.of(), drainRequestIds(ring), "the ring gave the message to the child");
            assertEquals(1, leases.inUse(), "the dead child's lease (1 hour) is still there");
            assertEquals(1, leases.reap(ring), "its holder is dead: redelivered without waiting for the deadline");
            assertEquals(List.of(99L), drainRequestIds(ring));
            assertEquals(0, leases.inUse());
        }
    }
}
