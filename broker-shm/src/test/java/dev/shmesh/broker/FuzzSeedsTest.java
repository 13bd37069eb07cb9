package dev.shmesh.broker;

import static dev.shmesh.broker.RingFuzzTest.ABORT;
import static dev.shmesh.broker.RingFuzzTest.CLAIM;
import static dev.shmesh.broker.RingFuzzTest.COMMIT;
import static dev.shmesh.broker.RingFuzzTest.OFFER;
import static dev.shmesh.broker.RingFuzzTest.POLL;
import static dev.shmesh.broker.RingFuzzTest.UNBLOCK;
import static dev.shmesh.broker.RingFuzzTest.W_LONG_FIELD;
import static dev.shmesh.broker.RingFuzzTest.W_RECORD_HEADER;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seed inputs of {@link RingFuzzTest} and {@link SharedTablesFuzzTest}: programs of real traffic (offers,
 * claims, polls, leases) and of the corruptions a broken peer writes (torn, oversized and wrong-type records, bad
 * positions, impossible sequences, planted member records, bad headers). The checked-in files must be what this
 * test encodes; {@code -Dshmesh.fuzz.write-seeds=true} rewrites them after a change of a program's format.
 */
class FuzzSeedsTest {
    private static final Path INPUTS = Path.of("src/test/resources/dev/shmesh/broker");

    @Test
    void checkedInSeedsAreWhatTheProgramsEncode() throws IOException {
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        manyToOneRing(seeds);
        manyToManyRing(seeds);
        leaseTable(seeds);
        segments(seeds);
        boolean write = Boolean.getBoolean("shmesh.fuzz.write-seeds");
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            Path file = INPUTS.resolve(e.getKey());
            if (write) {
                Files.createDirectories(file.getParent());
                Files.write(file, e.getValue());
            }
            assertTrue(Files.exists(file), file + " is missing: run with -Dshmesh.fuzz.write-seeds=true");
            assertArrayEquals(e.getValue(), Files.readAllBytes(file), file + " is not what its program encodes now:"
                    + " run with -Dshmesh.fuzz.write-seeds=true");
        }
    }

    private static final String MPSC = "RingFuzzTestInputs/manyToOneRing/seed-";
    private static final String MPMC = "RingFuzzTestInputs/manyToManyRing/seed-";
    private static final String LEASES = "SharedTablesFuzzTestInputs/leaseTable/seed-";
    private static final String SEGMENTS = "SharedTablesFuzzTestInputs/segments/seed-";

    /** {@code value(in, current)} read as exactly {@code v}. */
    private static FuzzInput.Writer exactly(FuzzInput.Writer w, long v) {
        return w.u8(2).i64(v);
    }

    private static FuzzInput.Writer mpscHeader(FuzzInput.Writer w, int index, int length, int type) {
        return exactly(exactly(w.u8(W_RECORD_HEADER).u8(index / 8), length), type);
    }

    private static void manyToOneRing(Map<String, byte[]> seeds) {
        FuzzInput.Writer w = new FuzzInput.Writer();
        for (int length : new int[] {0, 8, 61, 120, 33}) {
            w.u8(OFFER).u8(length).u8(2);
        }
        w.u8(POLL).u8(3).u8(CLAIM).u8(40).u8(4).u8(COMMIT).u8(0).u8(CLAIM).u8(9).u8(1).u8(ABORT).u8(0).u8(POLL).u8(69);
        for (int i = 0; i < 12; i++) { // laps around the ring: the padding before each wrap
            w.u8(OFFER).u8(100).u8(0).u8(POLL).u8(1);
        }
        seeds.put(MPSC + "traffic", w.toByteArray());
        // a record claimed and never committed: poll stops at it, unblock turns it into padding
        w = new FuzzInput.Writer().u8(OFFER).u8(16).u8(0).u8(CLAIM).u8(24).u8(0).u8(POLL).u8(10).u8(UNBLOCK).u8(POLL).u8(10);
        seeds.put(MPSC + "claimed-uncommitted", w.toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(0), 1024);
        seeds.put(MPSC + "oversized-length", mpscHeader(w, 0, 2000, 1).u8(POLL).u8(5).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(0), 64);
        seeds.put(MPSC + "length-below-header", mpscHeader(w, 0, 4, 1).u8(POLL).u8(5).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(0), 64);
        seeds.put(MPSC + "type-zero", mpscHeader(w, 0, 16, 0).u8(POLL).u8(5).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(0), 64);
        seeds.put(MPSC + "torn-claim", mpscHeader(w, 0, -16, 3).u8(POLL).u8(5).u8(UNBLOCK).u8(POLL).u8(5).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(1), 1021); // head, unaligned and near the end
        seeds.put(MPSC + "unaligned-head", w.u8(POLL).u8(5).u8(OFFER).u8(8).u8(0).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(1), 1016);
        w = exactly(w.u8(W_LONG_FIELD).u8(0), 1016 + 1024 + 8); // tail a lap and a record ahead
        seeds.put(MPSC + "record-across-the-end", mpscHeader(w, 1016, 24, 1).u8(POLL).u8(5).u8(OFFER).u8(8).u8(0)
                .toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(0), -8); // tail behind head, head cache stale
        seeds.put(MPSC + "tail-behind-head", w.u8(OFFER).u8(8).u8(0).u8(POLL).u8(5).toByteArray());
        w = exactly(new FuzzInput.Writer().u8(W_LONG_FIELD).u8(1), Long.MAX_VALUE - 7);
        seeds.put(MPSC + "head-at-the-end-of-time", mpscHeader(w, 1016, 8, 1).u8(POLL).u8(5).u8(POLL).u8(5)
                .toByteArray());
    }

    private static void manyToManyRing(Map<String, byte[]> seeds) {
        FuzzInput.Writer w = new FuzzInput.Writer();
        for (int i = 0; i < 6; i++) {
            w.u8(RingFuzzTest.M_OFFER).u8(i * 5).u8(i).u8(RingFuzzTest.M_POLL).u8(i % 3);
        }
        w.u8(RingFuzzTest.M_CLAIM).u8(24).u8(1).u8(RingFuzzTest.M_PUBLISH).u8(0).u8(0);
        w.u8(RingFuzzTest.M_CLAIM).u8(3).u8(1).u8(RingFuzzTest.M_PUBLISH).u8(0).u8(1);
        w.u8(RingFuzzTest.M_PRODUCER_CLAIM).u8(2).u8(10).u8(4).u8(RingFuzzTest.M_PRODUCER_PUBLISH).u8(0);
        w.u8(RingFuzzTest.M_POLL_REGISTERED).u8(3).u8(10).u8(RingFuzzTest.M_DIAGNOSTICS);
        seeds.put(MPMC + "traffic", w.toByteArray());
        // a consumer that died holding position 0, and a producer that died holding its claim at 1
        w = new FuzzInput.Writer().u8(RingFuzzTest.M_OFFER).u8(12).u8(0);
        w.u8(RingFuzzTest.M_PRODUCER_CLAIM).u8(4).u8(8).u8(0);
        exactly(w.u8(RingFuzzTest.M_W_LONG_FIELD).u8(1), 1); // head past position 0
        exactly(w.u8(RingFuzzTest.M_W_MEMBER).u8(1).u8(0), 6);
        exactly(w.u8(RingFuzzTest.M_W_MEMBER).u8(1).u8(1), 0);
        exactly(w.u8(RingFuzzTest.M_W_MEMBER).u8(1).u8(2), 1);
        w.u8(RingFuzzTest.M_RELEASE_ABANDONED).u8(0b0111_0000).u8(1).u8(RingFuzzTest.M_DIAGNOSTICS).u8(RingFuzzTest.M_POLL)
                .u8(9);
        seeds.put(MPMC + "abandoned", w.toByteArray());
        w = exactly(new FuzzInput.Writer().u8(RingFuzzTest.M_W_SEQUENCE).u8(0), 7);
        seeds.put(MPMC + "impossible-sequence", w.u8(RingFuzzTest.M_POLL).u8(4).u8(RingFuzzTest.M_OFFER).u8(4).u8(0)
                .toByteArray());
        w = new FuzzInput.Writer().u8(RingFuzzTest.M_OFFER).u8(12).u8(0);
        exactly(w.u8(RingFuzzTest.M_W_SLOT_INT).u8(0).u8(0), 4000); // length over the slot
        seeds.put(MPMC + "length-over-the-slot", w.u8(RingFuzzTest.M_POLL).u8(4).toByteArray());
        w = new FuzzInput.Writer().u8(RingFuzzTest.M_OFFER).u8(12).u8(0);
        exactly(w.u8(RingFuzzTest.M_W_SLOT_INT).u8(0).u8(1), -7); // a type no producer writes
        seeds.put(MPMC + "type-negative", w.u8(RingFuzzTest.M_POLL).u8(4).toByteArray());
        w = new FuzzInput.Writer();
        for (int record = 0; record < 64; record++) { // a peer fills the member table
            exactly(w.u8(RingFuzzTest.M_W_MEMBER).u8(record).u8(0), 99);
        }
        seeds.put(MPMC + "member-table-full", w.u8(RingFuzzTest.M_POLL_REGISTERED).u8(0).u8(RingFuzzTest.M_DIAGNOSTICS)
                .toByteArray());
    }

    private static void leaseTable(Map<String, byte[]> seeds) {
        // as member 3: lease two messages, complete one, let the other expire and be reaped
        FuzzInput.Writer w = new FuzzInput.Writer().u8(1).u8(2);
        w.u8(SharedTablesFuzzTest.L_POLL_LEASED).u8(0).u8(3).i32(1_000_000).u8(2).u8(0).u8(0).u8(20).u8(1).u8(3).u8(64);
        w.u8(SharedTablesFuzzTest.L_COMPLETE).u8(0);
        w.u8(SharedTablesFuzzTest.L_W_LONG).u8(1).u8(1).u8(1).u16(-30_000); // deadline in the past
        w.u8(SharedTablesFuzzTest.L_REAP).u8(0).u8(0).u8(1).u8(SharedTablesFuzzTest.L_IN_USE).u8(0);
        seeds.put(LEASES + "lease-complete-expire", w.toByteArray());
        // a holder that is gone; a slot of a length over the table's; one of type 0
        w = new FuzzInput.Writer().u8(0);
        w.u8(SharedTablesFuzzTest.L_W_WORD).u8(0).u8(2).u8(1).u8(5); // slot, LEASED, a small owner id: 5
        w.u8(SharedTablesFuzzTest.L_W_WORD).u8(1).u8(2).u8(1).u8(6);
        exactly(w.u8(SharedTablesFuzzTest.L_W_INT).u8(1).u8(1), 4096);
        w.u8(SharedTablesFuzzTest.L_W_WORD).u8(2).u8(2).u8(1).u8(6);
        exactly(w.u8(SharedTablesFuzzTest.L_W_INT).u8(2).u8(0), 0);
        w.u8(SharedTablesFuzzTest.L_W_WORD).u8(3).u8(3).u8(1).u8(7); // REAPING by a gone reaper
        exactly(w.u8(SharedTablesFuzzTest.L_W_INT).u8(3).u8(0), 2);
        w.u8(SharedTablesFuzzTest.L_REAP).u8(0).u8(0b1110_0000).u8(1).u8(1).u8(1);
        seeds.put(LEASES + "gone-and-corrupt", w.toByteArray());
        w = new FuzzInput.Writer().u8(0).u8(SharedTablesFuzzTest.L_ADOPT).u8(0).u8(0).u16(5).u8(20);
        w.u8(SharedTablesFuzzTest.L_REAP).u8(0).u8(0).u8(1);
        seeds.put(LEASES + "adopt-then-reap", w.toByteArray());
    }

    private static void segments(Map<String, byte[]> seeds) {
        for (int kind = 0; kind < 4; kind++) {
            FuzzInput.Writer w = new FuzzInput.Writer().u8(kind);
            if (kind != SharedTablesFuzzTest.S_MANY_TO_ONE) {
                w.u8(1).u8(1).u8(1).u8(1);
            }
            seeds.put(SEGMENTS + "as-created-" + kind, w.u8(0).u8(4).u8(8).toByteArray());
        }
        seeds.put(SEGMENTS + "bad-magic", new FuzzInput.Writer().u8(0).u8(0).i64(0x4142434445464748L).u8(1).u8(1).u8(1)
                .u8(0).toByteArray());
        seeds.put(SEGMENTS + "another-kind", new FuzzInput.Writer().u8(1).u8(1).u8(1)
                .u8(0).u8(1).u8(SegmentHeaderDescriptor.KIND_COUNTERS).u8(1).u8(0).toByteArray());
        seeds.put(SEGMENTS + "longer-than-the-file", exactly(new FuzzInput.Writer().u8(2).u8(1).u8(1).u8(1).u8(0), 1 << 20)
                .u8(0).toByteArray());
        // config words: counters' max records over the file; a ring's slot count that does not fit; a huge capacity
        seeds.put(SEGMENTS + "counters-max-records", exactly(new FuzzInput.Writer().u8(2).u8(1).u8(1).u8(1).u8(1).u8(1)
                .u8(0), 1000).toByteArray());
        seeds.put(SEGMENTS + "ring-capacity", exactly(new FuzzInput.Writer().u8(0).u8(1).u8(1).u8(1).u8(1).u8(1).u8(0),
                Integer.MAX_VALUE).toByteArray());
        seeds.put(SEGMENTS + "mpsc-capacity", exactly(new FuzzInput.Writer().u8(3).u8(1).u8(0), 2048).toByteArray());
        seeds.put(SEGMENTS + "lease-slots", exactly(new FuzzInput.Writer().u8(1).u8(1).u8(1).u8(1).u8(1).u8(1).u8(0), 5)
                .toByteArray());
    }
}
