package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shmesh.broker.internal.RingDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A broken or hostile peer writes random values into a ring's shared memory; whatever it writes, no ring
 * operation may throw (caller mistakes aside) or hang — results are counts, indices or sentinels.
 */
@Timeout(60)
class CorruptionFuzzTest {
    private static final int ROUNDS = 300;
    private final ShmFiles files = new ShmFiles();

    @AfterEach
    void deleteFiles() throws Exception {
        files.deleteAll();
    }

    @Test
    void manyToOneRingSurvivesRandomWrites() throws Exception {
        fuzz(true);
    }

    @Test
    void manyToManyRingSurvivesRandomWrites() throws Exception {
        fuzz(false);
    }

    private void fuzz(boolean mpsc) throws Exception {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        MemorySegment src = MemorySegment.ofArray(new byte[512]);
        int fenced = 0;
        for (int round = 0; round < ROUNDS; round++) {
            try (Ring ring = mpsc
                    ? ManyToOneRing.create(files.path("m" + round), 4096)
                    : ManyToManyRing.create(files.path("n" + round), 16, 100)) {
                MemorySegment m = ring.segment().memory();
                long ringStart = SegmentHeaderDescriptor.LENGTH;
                try {
                    for (int step = 0; step < 40; step++) {
                        switch (random.nextInt(8)) {
                            case 0, 1 -> ring.offer(1 + random.nextInt(5), src, 0, random.nextInt(ring.maxPayloadLength() + 1));
                            case 2 -> {
                                int index = ring.tryClaim(2, random.nextInt(64));
                                if (index >= 0) {
                                    if (random.nextBoolean()) {
                                        ring.commit(index);
                                    } else {
                                        ring.abort(index);
                                    }
                                }
                            }
                            case 3, 4 -> ring.poll((t, b, o, l) -> b.get(ValueLayout.JAVA_BYTE, o + Math.max(0, l - 1)), 8);
                            case 5 -> ring.awaitWork(1_000);
                            case 6 -> {
                                if (ring instanceof ManyToOneRing r) {
                                    r.unblock();
                                }
                            }
                            default -> {
                                // the hostile write: an int or a long anywhere in the control block or data area,
                                // biased towards the values rings care about
                                long span = m.byteSize() - ringStart - 8;
                                long at = ringStart + (random.nextLong(span) & ~3L);
                                if (random.nextInt(4) == 0) {
                                    at = ringStart + RingDescriptor.TAIL_OFFSET + 128L * random.nextInt(5);
                                }
                                long value = switch (random.nextInt(4)) {
                                    case 0 -> random.nextLong();
                                    case 1 -> -random.nextInt(5000);
                                    case 2 -> random.nextInt(5000);
                                    default -> Long.MAX_VALUE - random.nextInt(16);
                                };
                                if ((at & 7) == 0 && random.nextBoolean()) {
                                    m.set(ValueLayout.JAVA_LONG, at, value);
                                } else {
                                    m.set(ValueLayout.JAVA_INT, at, (int) value);
                                }
                            }
                        }
                    }
                } catch (IllegalArgumentException | IndexOutOfBoundsException | IllegalStateException e) {
                    fail("round " + round + " (seed " + seed + "): a ring operation threw " + e, e);
                }
                if (ring.isFenced()) {
                    fenced++;
                }
            }
        }
        assertTrue(fenced > 0, "the fuzzer never produced detectable corruption (seed " + seed + ")");
    }
}
