package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Re-attaching a mesh's segments: kept for the same gateway generation, started afresh for another one. */
@Timeout(60)
class BrokerConductorTest {
    private static final BrokerConductor.Layout SMALL = new BrokerConductor.Layout(8, 64, 8, 1, 4096);
    private final String mesh = "bct" + Long.toHexString(System.nanoTime() & 0xFFFFFFFL);

    @AfterEach
    void cleanUp() {
        BrokerConductor.unlinkAll(mesh, SMALL);
    }

    private void queueJob(long id) throws Exception {
        try (ManyToManyRing jobs = ManyToManyRing.open(ShmSegment.pathOf(mesh, "jobs"))) {
            assertTrue(jobs.offer(1, MemorySegment.ofArray(new long[] {id}), 0, 8) >= 0);
        }
    }

    private long takeJob() throws Exception {
        long[] got = {-1};
        try (ManyToManyRing jobs = ManyToManyRing.open(ShmSegment.pathOf(mesh, "jobs"))) {
            jobs.poll((t, b, o, n) -> got[0] = b.get(ValueLayout.JAVA_LONG_UNALIGNED, o), 1);
        }
        return got[0];
    }

    @Test
    void aBrokerOfTheSameGatewayReattachesAndFindsTheQueuedJob() throws Exception {
        try (BrokerConductor first = BrokerConductor.openOrCreate(mesh, SMALL, 0x1234)) {
            assertFalse(first.reattached());
            queueJob(7);
        } // a crash: the segments stay
        try (BrokerConductor second = BrokerConductor.openOrCreate(mesh, SMALL, 0x1234)) {
            assertTrue(second.reattached());
            assertEquals(7, takeJob());
        }
    }

    @Test
    void aBrokerOfAnotherGatewayStartsEmptyBecauseMemberIdsRepeatAcrossGateways() throws Exception {
        try (BrokerConductor first = BrokerConductor.openOrCreate(mesh, SMALL, 0x1234).actAs(3)) {
            assertEquals(0, first.jobConsumers());
            queueJob(8);
            try (ManyToManyRing jobs = ManyToManyRing.open(ShmSegment.pathOf(mesh, "jobs"))) {
                jobs.consumer(5); // a consumer of the old gateway; the new one may well call a member 5 too
            }
        }
        try (BrokerConductor second = BrokerConductor.openOrCreate(mesh, SMALL, 0x5678)) {
            assertFalse(second.reattached(), "another generation's segments are not re-attached");
            assertEquals(0, second.jobConsumers(), "nothing of the old members is left");
            assertEquals(-1, takeJob(), "the old queue went with the old gateway's clients");
        }
        assertTrue(Files.exists(ShmSegment.pathOf(mesh, "jobs")));
        Path leases = ShmSegment.pathOf(mesh, "leases");
        try (LeaseTable table = LeaseTable.open(leases)) {
            assertEquals(0x5678, table.generation());
        }
    }
}
