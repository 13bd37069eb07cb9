package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A process SIGKILLed while it holds a many-to-many ring position — a consumer inside poll (taken, not freed), a
 * producer between tryClaim and commit — loses nothing queued once the broker is told the member is gone, and the
 * ring does not stall there.
 */
@Timeout(90)
class MemberDeathTest {
    private static final long MEMBER = 7;

    private final ShmFiles files = new ShmFiles();
    private final Arena arena = Arena.ofShared();
    private final ChildJvms children = new ChildJvms();

    @AfterEach
    void cleanUp() throws Exception {
        children.close();
        arena.close();
        files.deleteAll();
    }

    private void offerRequest(Ring ring, long requestId) {
        Requests.offer(arena, ring, requestId, 16);
    }

    private static List<Long> drainRequestIds(Ring ring) {
        return Requests.drain(ring);
    }

    /** Starts a consumer that takes one message and hangs inside poll; returns once it has taken it, then kills it. */
    private void takeAndKill(String... args) throws Exception {
        runAndKill("take-and-hang", "taken", args);
    }

    /** Runs a RingChild mode on an MPMC ring until it prints {@code signal}, then SIGKILLs it. */
    private void runAndKill(String mode, String signal, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(mode, "mpmc"));
        all.addAll(List.of(args));
        Process child = children.startPiped(all.toArray(String[]::new));
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertEquals(signal, out.readLine(), "the child got where it is killed");
        child.destroyForcibly(); // SIGKILL
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aClaimOfAKilledProducerIsPublishedAsPaddingAndConsumersMoveOn() throws Exception {
        Path path = files.path("jobs");
        try (ManyToManyRing ring = ManyToManyRing.create(path, 4, 64)) {
            runAndKill("claim-and-hang", "claimed", path.toString(), Long.toString(MEMBER));
            assertEquals(1, ring.producers());
            offerRequest(ring, 2);
            assertEquals(List.of(), drainRequestIds(ring), "every consumer waits at the unpublished claim");
            assertEquals(0, ring.releaseAbandoned(m -> false, (t, b, o, n) -> true));
            assertEquals(1, ring.releaseAbandoned(m -> m == MEMBER, (t, b, o, n) -> {
                throw new AssertionError("a producer's claim has nothing to rescue");
            }));
            assertEquals(0, ring.producers());
            assertEquals(List.of(2L), drainRequestIds(ring), "the claim became padding; the next message flows");
            for (long id = 3; id <= 6; id++) {
                offerRequest(ring, id);
            }
            assertEquals(List.of(3L, 4L, 5L, 6L), drainRequestIds(ring));
        }
    }

    @Test
    void garbageInAProducersRecordNeitherBreaksItsCommitNorMisleadsTheBroker() throws Exception {
        try (ManyToManyRing ring = ManyToManyRing.create(files.path("jobs"), 4, 64)) {
            ManyToManyRing.Producer producer = ring.producer(3);
            int index = producer.tryClaim(3, 16);
            long record = dev.shmesh.broker.internal.SegmentHeaderDescriptor.LENGTH
                    + dev.shmesh.broker.internal.MemberTableDescriptor.recordOffset(ring.capacity(), 0);
            MemorySegment shared = ring.segment().memory();
            assertEquals(3, shared.get(ValueLayout.JAVA_LONG, record), "the producer holds record 0");
            // a hostile process with write access scribbles over the claim and role words
            shared.set(ValueLayout.JAVA_LONG, record + dev.shmesh.broker.internal.MemberTableDescriptor.CLAIM_OFFSET,
                    0x7FFF_FFFF_FFFF_0000L);
            shared.set(ValueLayout.JAVA_INT, record + dev.shmesh.broker.internal.MemberTableDescriptor.ROLE_OFFSET, 99);
            producer.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, index, 51L);
            assertTrue(producer.commit(index), "the producer keeps its own claim in its own memory");
            assertEquals(List.of(51L), drainRequestIds(ring));
            assertEquals(0, ring.releaseAbandoned(m -> true, (t, b, o, n) -> true), "nothing to take from garbage");
            assertTrue(!ring.isFenced());
        }
    }

    @Test
    void aPositionAGoneConsumerOnlyTriedToTakeIsLeftToTheLiveConsumerThatHasIt() throws Exception {
        try (ManyToManyRing ring = ManyToManyRing.create(files.path("jobs"), 4, 64)) {
            offerRequest(ring, 61);
            ManyToManyRing.Consumer live = ring.consumer(1);
            ManyToManyRing.Consumer loser = ring.consumer(2);
            // member 2 named position 0 and lost the head CAS to member 1, then died: its record still says 0
            long record = dev.shmesh.broker.internal.SegmentHeaderDescriptor.LENGTH
                    + dev.shmesh.broker.internal.MemberTableDescriptor.recordOffset(ring.capacity(), 1);
            MemorySegment shared = ring.segment().memory();
            assertEquals(2, shared.get(ValueLayout.JAVA_LONG, record));
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            List<Long> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread consumer = Thread.ofPlatform().daemon().start(() -> live.poll((t, b, o, n) -> {
                handled.add(b.get(ValueLayout.JAVA_LONG_UNALIGNED, o));
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, 1));
            List<Long> rescued = new ArrayList<>();
            try {
                assertTrue(inside.await(10, TimeUnit.SECONDS));
                shared.set(ValueLayout.JAVA_LONG,
                        record + dev.shmesh.broker.internal.MemberTableDescriptor.CLAIM_OFFSET, 0L);
                assertEquals(0, ring.releaseAbandoned(m -> m == 2, (t, b, o, n) -> rescued.add(0L)),
                        "member 1, alive, holds position 0: nothing is taken from it");
                assertEquals(2, ring.consumers(), "member 2's record is kept for another look");
            } finally {
                release.countDown(); // never leave the consumer thread parked in its handler
                consumer.join(10_000);
            }
            assertEquals(0, ring.releaseAbandoned(m -> m == 2, (t, b, o, n) -> rescued.add(0L)));
            assertEquals(List.of(), rescued, "never rescued: it was handled once, by member 1");
            assertEquals(List.of(61L), handled);
            assertEquals(1, ring.consumers(), "member 2's record is freed once its position is settled");
            live.close();
            loser.close();
        }
    }

    @Test
    void aLiveProducersClaimIsLeftAloneAndItsCommitStillLands() throws Exception {
        try (ManyToManyRing ring = ManyToManyRing.create(files.path("jobs"), 4, 64)) {
            ManyToManyRing.Producer live = ring.producer(3);
            ManyToManyRing.Producer other = ring.producer(4);
            int index = live.tryClaim(3, 16);
            assertTrue(index >= 0);
            assertEquals(0, ring.releaseAbandoned(m -> m == 4, (t, b, o, n) -> true), "member 4 holds nothing");
            assertEquals(1, ring.producers(), "member 4's record was freed");
            live.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, index, 41L);
            assertTrue(live.commit(index));
            assertEquals(List.of(41L), drainRequestIds(ring));
            ManyToManyRing.Producer newcomer = ring.producer(5); // may take the record member 4 had
            other.close(); // member 4's late close must not free a record that is someone else's now
            assertEquals(2, ring.producers());
            live.close();
            newcomer.close();
            assertEquals(0, ring.producers());
        }
    }

    @Test
    void aPositionTakenByAKilledConsumerIsRescuedAndTheRingMovesOn() throws Exception {
        Path path = files.path("jobs");
        try (ManyToManyRing ring = ManyToManyRing.create(path, 4, 64)) {
            offerRequest(ring, 1);
            takeAndKill(path.toString(), Long.toString(MEMBER));
            assertEquals(1, ring.consumers(), "the dead consumer's record is still registered");
            assertEquals(1, ring.claimedUnreleased(), "it died holding position 0");

            // without a rescue, the ring stalls at that slot one lap later
            for (long id = 2; id <= 4; id++) {
                offerRequest(ring, id);
            }
            assertEquals(List.of(2L, 3L, 4L), drainRequestIds(ring));
            MemorySegment src = arena.allocate(16);
            assertEquals(Ring.BACK_PRESSURED, ring.offer(3, src, 0, 16), "stalled at the dead consumer's slot");

            assertEquals(0, ring.releaseAbandoned(m -> false, (t, b, o, n) -> true), "nobody is gone yet");
            List<Long> rescued = new ArrayList<>();
            assertEquals(1, ring.releaseAbandoned(m -> m == MEMBER, (type, buffer, offset, length) -> {
                assertEquals(3, type);
                assertEquals(16, length);
                rescued.add(buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset));
                return buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8) == 10;
            }));
            assertEquals(List.of(1L), rescued, "the message the consumer died with");
            assertEquals(0, ring.claimedUnreleased());
            assertEquals(0, ring.consumers(), "the gone member's record is free again");
            assertEquals(0, ring.releaseAbandoned(m -> m == MEMBER, (t, b, o, n) -> true), "rescued once");

            for (long id = 5; id <= 8; id++) {
                offerRequest(ring, id); // a whole lap again
            }
            assertEquals(List.of(5L, 6L, 7L, 8L), drainRequestIds(ring));
            assertTrue(!ring.isFenced());
        }
    }

    @Test
    void aRescuerThatCannotTakeTheMessageLeavesItForTheNextRound() throws Exception {
        Path path = files.path("jobs");
        try (ManyToManyRing ring = ManyToManyRing.create(path, 4, 64)) {
            offerRequest(ring, 11);
            takeAndKill(path.toString(), Long.toString(MEMBER));
            assertEquals(0, ring.releaseAbandoned(m -> m == MEMBER, (t, b, o, n) -> false));
            assertEquals(1, ring.claimedUnreleased(), "still held: nothing was lost");
            assertEquals(1, ring.consumers());
            assertEquals(1, ring.releaseAbandoned(m -> m == MEMBER, (t, b, o, n) -> true));
        }
    }

    @Test
    void theBrokerTurnsAKilledLeaseHoldersJobsIntoRedeliveriesAtOnce() throws Exception {
        Path ringPath = files.path("jobs");
        Path leasesPath = files.path("leases");
        try (ManyToManyRing ring = ManyToManyRing.create(ringPath, 8, 64);
                LeaseTable leases = LeaseTable.create(leasesPath, 8, 64).actAs(1)) {
            offerRequest(ring, 21);
            // leased (one hour) and hung inside poll: the job is in the lease table *and* still in its slot
            takeAndKill(ringPath.toString(), Long.toString(MEMBER), leasesPath.toString());
            assertEquals(1, leases.inUse());
            assertEquals(1, ring.claimedUnreleased());
            assertEquals(0, leases.reap(ring, LeaseTable.Holders.UNKNOWN), "deadline an hour away");

            java.util.function.LongPredicate gone = m -> m == MEMBER;
            assertEquals(1, ring.releaseAbandoned(gone, leases::adopt), "the slot's copy goes to an expired lease");
            assertEquals(2, leases.inUse());
            assertEquals(2, leases.reap(ring, LeaseTable.Holders.members(gone)));
            assertEquals(0, leases.inUse());
            assertEquals(List.of(21L, 21L), drainRequestIds(ring),
                    "at-least-once: both copies come back, the request id lets the requester answer once");
        }
    }

    @Test
    void leasesOfAGoneMemberAreRedeliveredAndItsReservationsFreedWithoutWaitingForTheDeadline() throws Exception {
        try (ManyToManyRing ring = ManyToManyRing.create(files.path("jobs"), 8, 64);
                LeaseTable dead = LeaseTable.create(files.path("leases"), 4, 64).actAs(5);
                LeaseTable live = LeaseTable.open(files.path("leases")).actAs(6);
                LeaseTable broker = LeaseTable.open(files.path("leases")).actAs(1)) {
            offerRequest(ring, 31);
            offerRequest(ring, 32);
            long hour = TimeUnit.HOURS.toNanos(1);
            assertEquals(1, dead.pollLeased(ring, (l, id, t, p, o, n) -> {}, 1, hour));
            assertEquals(1, live.pollLeased(ring, (l, id, t, p, o, n) -> {}, 1, hour));
            assertEquals(2, broker.inUse());
            assertEquals(1, broker.reap(ring, LeaseTable.Holders.members(m -> m == 5)));
            assertEquals(List.of(31L), drainRequestIds(ring), "member 5's job, and only that");
            assertEquals(1, broker.inUse(), "member 6 still holds its lease");
            assertEquals(0, broker.reap(ring, LeaseTable.Holders.members(m -> false)), "member 6 lives, deadline far");
        }
    }
}
