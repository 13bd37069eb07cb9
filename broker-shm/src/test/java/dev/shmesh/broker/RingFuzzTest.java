package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shmesh.broker.internal.MemberTableDescriptor;
import dev.shmesh.broker.internal.RecordDescriptor;
import dev.shmesh.broker.internal.RingDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.broker.internal.SlotDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rings as their consumer sees them when a peer that shares the memory is broken or hostile: the fuzzer's input is a
 * program that interleaves arbitrary writes into the ring's shared memory (state, head, tail, head cache, sleepers,
 * futex word, record headers, slot sequences and the member table — torn, oversized, of the wrong type) with the
 * ring's own operations, as the consumer (poll, unblock, releaseAbandoned) and as another producer.
 *
 * <p>What must hold whatever was written ({@link Ring}'s contract): every operation returns a count, an index or a
 * documented sentinel and throws nothing (registering in a full member table aside, which is documented); a handler
 * only ever sees a positive type and a payload inside the data area and within the max payload; a poll that says
 * FENCED left the ring fenced; after the writes stop, polling drains the ring in a bounded number of calls (no
 * livelock). The many-to-one ring addresses its memory raw ({@link AbstractRing#ADDRESS_SPACE}), where an index
 * bug is no exception but a stray write: every byte of its mapping that it never writes — the segment header, the
 * config words, the padding of each control slot, and the rest of the last page after the segment — is compared
 * after every step. (Its bounds {@code assert}s are on too: surefire runs with {@code -ea}.)
 *
 * <p>Inputs: {@code RingFuzzTestInputs/<method>/}, decoded by {@link FuzzInput}; the seeds are written by
 * {@link FuzzSeedsTest}.
 */
class RingFuzzTest {
    /** Steps per input: enough to fill, corrupt and drain a small ring; bounds an input's run time. */
    static final int MAX_STEPS = 200;
    static final int MPSC_CAPACITY = 1024;
    static final int MPMC_SLOTS = 4;
    static final int MPMC_MAX_PAYLOAD = 24;

    // operations of the many-to-one program
    static final int W_INT_FIELD = 0;
    static final int W_LONG_FIELD = 1;
    static final int W_DATA_INT = 2;
    static final int W_RECORD_HEADER = 3;
    static final int POLL = 4;
    static final int OFFER = 5;
    static final int CLAIM = 6;
    static final int COMMIT = 7;
    static final int ABORT = 8;
    static final int UNBLOCK = 9;
    static final int HEAD_CLAIMED = 10;
    static final int CLOSE_RING = 11;
    static final int AWAIT = 12;
    static final int MPSC_OPS = 13;

    // operations of the many-to-many program (writes first, then the ring's)
    static final int M_W_INT_FIELD = 0;
    static final int M_W_LONG_FIELD = 1;
    static final int M_W_SEQUENCE = 2;
    static final int M_W_SLOT_INT = 3;
    static final int M_W_MEMBER = 4;
    static final int M_POLL = 5;
    static final int M_POLL_REGISTERED = 6;
    static final int M_CLAIM = 7;
    static final int M_PUBLISH = 8;
    static final int M_PRODUCER_CLAIM = 9;
    static final int M_PRODUCER_PUBLISH = 10;
    static final int M_OFFER = 11;
    static final int M_RELEASE_ABANDONED = 12;
    static final int M_DIAGNOSTICS = 13;
    static final int M_CLOSE_RING = 14;
    static final int M_AWAIT = 15;
    static final int MPMC_OPS = 16;

    private static final long BASE = SegmentHeaderDescriptor.LENGTH;
    static final long[] MPSC_INT_FIELDS = {
        BASE + RingDescriptor.STATE_OFFSET, BASE + RingDescriptor.SLEEPERS_OFFSET, BASE + RingDescriptor.FUTEX_OFFSET
    };
    static final long[] MPSC_LONG_FIELDS = {
        BASE + RingDescriptor.TAIL_OFFSET, BASE + RingDescriptor.HEAD_OFFSET, BASE + RingDescriptor.HEAD_CACHE_OFFSET
    };
    static final long[] MPMC_LONG_FIELDS = {BASE + RingDescriptor.TAIL_OFFSET, BASE + RingDescriptor.HEAD_OFFSET};

    private static final MemorySegment SOURCE = MemorySegment.ofArray(new byte[1 << 12]);

    @FuzzTest
    void manyToOneRing(byte[] program) {
        Fixtures.Mpsc fixture = Fixtures.mpsc();
        ManyToOneRing ring = fixture.fresh();
        MemorySegment memory = ring.segment().memory();
        FuzzInput in = new FuzzInput(program);
        Deliveries deliveries = new Deliveries(ring.buffer(), ring.maxPayloadLength());
        List<int[]> claims = new ArrayList<>(); // {index, length}
        for (int step = 0; step < MAX_STEPS && in.hasMore(); step++) {
            int op = in.below(MPSC_OPS);
            switch (op) {
                case W_INT_FIELD -> {
                    long at = MPSC_INT_FIELDS[in.below(MPSC_INT_FIELDS.length)];
                    memory.set(ValueLayout.JAVA_INT, at, (int) value(in, memory.get(ValueLayout.JAVA_INT, at)));
                }
                case W_LONG_FIELD -> {
                    long at = MPSC_LONG_FIELDS[in.below(MPSC_LONG_FIELDS.length)];
                    memory.set(ValueLayout.JAVA_LONG, at, value(in, memory.get(ValueLayout.JAVA_LONG, at)));
                }
                case W_DATA_INT -> {
                    long at = 4L * in.below(MPSC_CAPACITY / 4);
                    ring.buffer().set(ValueLayout.JAVA_INT, at, (int) value(in, ring.buffer().get(ValueLayout.JAVA_INT, at)));
                }
                case W_RECORD_HEADER -> {
                    long at = 8L * in.below(MPSC_CAPACITY / 8);
                    int length = (int) value(in, 16);
                    int type = (int) value(in, 1);
                    ring.buffer().set(ValueLayout.JAVA_LONG, at, RecordDescriptor.header(length, type));
                }
                case POLL -> deliveries.poll(ring, 1 + in.below(70));
                case OFFER -> {
                    int length = in.below(ring.maxPayloadLength() + 9);
                    checkClaimResult(ring, ring.offer(1 + in.below(8), SOURCE, 0, length), length);
                }
                case CLAIM -> {
                    int length = in.below(ring.maxPayloadLength() + 9);
                    int index = ring.tryClaim(1 + in.below(8), length);
                    checkClaimResult(ring, index, length);
                    if (index >= 0) {
                        ring.buffer().asSlice(index, length).fill((byte) 0x5A); // a checked write: index is in bounds
                        claims.add(new int[] {index, length});
                    }
                }
                case COMMIT, ABORT -> {
                    if (!claims.isEmpty()) {
                        int index = claims.remove(in.below(claims.size()))[0];
                        if (op == COMMIT) {
                            ring.commit(index);
                        } else {
                            ring.abort(index);
                        }
                    }
                }
                case UNBLOCK -> ring.unblock();
                case HEAD_CLAIMED -> ring.headClaimedUncommitted();
                case CLOSE_RING -> ring.closeRing();
                case AWAIT -> ring.awaitWork(0);
                default -> throw new AssertionError(op);
            }
            fixture.assertUntouchedOutsideItsFields();
        }
        deliveries.drain(ring, MPSC_CAPACITY / RecordDescriptor.ALIGNMENT + 2);
        fixture.assertUntouchedOutsideItsFields();
    }

    @FuzzTest
    void manyToManyRing(byte[] program) {
        ManyToManyRing ring = Fixtures.mpmc().fresh();
        MemorySegment memory = ring.segment().memory();
        MemorySegment data = ring.buffer();
        int slotLength = SlotDescriptor.slotLength(MPMC_MAX_PAYLOAD);
        long members = BASE + MemberTableDescriptor.tableOffset(MPMC_SLOTS * slotLength);
        FuzzInput in = new FuzzInput(program);
        Deliveries deliveries = new Deliveries(data, ring.maxPayloadLength());
        List<int[]> claims = new ArrayList<>();
        ManyToManyRing.Producer producer = null;
        int producerClaim = -1;
        try {
            for (int step = 0; step < MAX_STEPS && in.hasMore(); step++) {
                int op = in.below(MPMC_OPS);
                switch (op) {
                    case M_W_INT_FIELD -> {
                        long at = MPSC_INT_FIELDS[in.below(MPSC_INT_FIELDS.length)];
                        memory.set(ValueLayout.JAVA_INT, at, (int) value(in, memory.get(ValueLayout.JAVA_INT, at)));
                    }
                    case M_W_LONG_FIELD -> {
                        long at = MPMC_LONG_FIELDS[in.below(MPMC_LONG_FIELDS.length)];
                        memory.set(ValueLayout.JAVA_LONG, at, value(in, memory.get(ValueLayout.JAVA_LONG, at)));
                    }
                    case M_W_SEQUENCE -> {
                        long at = (long) in.below(MPMC_SLOTS) * slotLength + SlotDescriptor.SEQUENCE_OFFSET;
                        data.set(ValueLayout.JAVA_LONG, at, value(in, data.get(ValueLayout.JAVA_LONG, at)));
                    }
                    case M_W_SLOT_INT -> {
                        long at = (long) in.below(MPMC_SLOTS) * slotLength
                                + (in.u8() % 2 == 0 ? SlotDescriptor.LENGTH_OFFSET : SlotDescriptor.TYPE_OFFSET);
                        data.set(ValueLayout.JAVA_INT, at, (int) value(in, data.get(ValueLayout.JAVA_INT, at)));
                    }
                    case M_W_MEMBER -> {
                        long record = members + (long) in.below(MemberTableDescriptor.RECORDS)
                                * MemberTableDescriptor.RECORD_LENGTH;
                        switch (in.u8() % 3) {
                            case 0 -> memory.set(ValueLayout.JAVA_LONG, record + MemberTableDescriptor.MEMBER_OFFSET,
                                    value(in, 1));
                            case 1 -> memory.set(ValueLayout.JAVA_LONG, record + MemberTableDescriptor.CLAIM_OFFSET,
                                    value(in, memory.get(ValueLayout.JAVA_LONG, BASE + RingDescriptor.HEAD_OFFSET)));
                            default -> memory.set(ValueLayout.JAVA_INT, record + MemberTableDescriptor.ROLE_OFFSET,
                                    (int) value(in, 1));
                        }
                    }
                    case M_POLL -> deliveries.poll(ring, 1 + in.below(70));
                    case M_POLL_REGISTERED -> {
                        ManyToManyRing.Consumer consumer = register(() -> ring.consumer(1 + in.below(8)));
                        if (consumer != null) {
                            try (consumer) {
                                deliveries.poll(consumer, 1 + in.below(70));
                            }
                        }
                    }
                    case M_CLAIM -> {
                        int length = in.below(MPMC_MAX_PAYLOAD + 9);
                        int index = ring.tryClaim(1 + in.below(8), length);
                        checkClaimResult(ring, index, length);
                        if (index >= 0) {
                            data.asSlice(index, length).fill((byte) 0x5A);
                            claims.add(new int[] {index, length});
                        }
                    }
                    case M_PUBLISH -> {
                        if (!claims.isEmpty()) {
                            int index = claims.remove(in.below(claims.size()))[0];
                            if (in.u8() % 2 == 0) {
                                ring.commit(index);
                            } else {
                                ring.abort(index);
                            }
                        }
                    }
                    case M_PRODUCER_CLAIM -> {
                        if (producer == null) {
                            long member = 1 + in.below(8);
                            producer = register(() -> ring.producer(member));
                        }
                        if (producer != null && producerClaim < 0) {
                            int length = in.below(MPMC_MAX_PAYLOAD + 9);
                            producerClaim = producer.tryClaim(1 + in.below(8), length);
                            checkClaimResult(ring, producerClaim, length);
                        }
                    }
                    case M_PRODUCER_PUBLISH -> {
                        if (producerClaim >= 0) {
                            if (in.u8() % 2 == 0) {
                                producer.commit(producerClaim);
                            } else {
                                producer.abort(producerClaim);
                            }
                            producerClaim = -1;
                        }
                    }
                    case M_OFFER -> {
                        int length = in.below(MPMC_MAX_PAYLOAD + 9);
                        checkClaimResult(ring, ring.offer(1 + in.below(8), SOURCE, 0, length), length);
                    }
                    case M_RELEASE_ABANDONED -> {
                        int gone = in.u8();
                        int accept = in.u8();
                        int r = ring.releaseAbandoned(member -> (gone >>> (int) (member & 7) & 1) != 0,
                                (type, buffer, offset, length) -> {
                                    deliveries.check(type, buffer, offset, length);
                                    return (accept & 1) != 0;
                                });
                        assertTrue(r >= 0 || r == Ring.FENCED, "releaseAbandoned returned " + r);
                        assertTrue(r != Ring.FENCED || ring.isFenced(), "releaseAbandoned said FENCED of a ring that is not");
                    }
                    case M_DIAGNOSTICS -> {
                        int unreleased = ring.claimedUnreleased();
                        assertTrue(unreleased >= 0 && unreleased <= MPMC_SLOTS, "claimedUnreleased " + unreleased);
                        assertTrue(ring.consumers() + ring.producers() <= MemberTableDescriptor.RECORDS,
                                "more parties than member records");
                    }
                    case M_CLOSE_RING -> ring.closeRing();
                    case M_AWAIT -> ring.awaitWork(0);
                    default -> throw new AssertionError(op);
                }
            }
        } finally {
            if (producer != null) {
                producer.close();
            }
        }
        deliveries.drain(ring, MPMC_SLOTS + 2);
    }

    /**
     * A value for a shared-memory word, chosen by the input: a small number, the word's current value moved a
     * little (a position just past the tail, a length one too long), anything at all, or an edge of the type.
     */
    static long value(FuzzInput in, long current) {
        return switch (in.u8() & 3) {
            case 0 -> (short) in.u16();
            case 1 -> current + (short) in.u16();
            case 2 -> in.i64();
            default -> switch (in.u8() & 7) {
                case 0 -> Long.MAX_VALUE - in.u8();
                case 1 -> Long.MIN_VALUE + in.u8();
                case 2 -> Integer.MAX_VALUE - in.u8();
                case 3 -> Integer.MIN_VALUE + in.u8();
                case 4 -> -current;
                case 5 -> current + MPSC_CAPACITY + 8L * (byte) in.u8();
                case 6 -> current - MPSC_CAPACITY + 8L * (byte) in.u8();
                default -> 0xFFFF_FFFFL & current | (long) in.i32() << 32;
            };
        };
    }

    private static void checkClaimResult(Ring ring, int result, int length) {
        if (result >= 0) {
            assertTrue(result >= 8 && (long) result + length <= ring.capacity(),
                    "claimed index " + result + " for " + length + " bytes in a ring of " + ring.capacity());
            assertTrue(length <= ring.maxPayloadLength(), "claimed " + length + " bytes, over the max payload");
            return;
        }
        switch (result) {
            case Ring.BACK_PRESSURED, Ring.CLOSED -> { }
            case Ring.TOO_LARGE -> assertTrue(length > ring.maxPayloadLength(), "TOO_LARGE for " + length + " bytes");
            case Ring.FENCED -> assertTrue(ring.isFenced() && !ring.fenceReport().isEmpty(),
                    "a claim said FENCED of a ring that is not fenced");
            default -> fail("claim returned " + result);
        }
    }

    /** Registering in a member table a peer filled up is refused, as documented; anything else throws on. */
    private static <T> T register(java.util.function.Supplier<T> registration) {
        try {
            return registration.get();
        } catch (IllegalStateException full) {
            assertTrue(full.getMessage().contains("member records"), full.getMessage());
            return null;
        }
    }

    /** Checks every message a poll hands over and reads all of its bytes through the ring's checked segment. */
    static final class Deliveries implements MessageHandler {
        private final MemorySegment buffer;
        private final int maxPayloadLength;
        private int handled;
        long checksum;

        Deliveries(MemorySegment buffer, int maxPayloadLength) {
            this.buffer = buffer;
            this.maxPayloadLength = maxPayloadLength;
        }

        @Override
        public void onMessage(int type, MemorySegment buffer, long offset, int length) {
            check(type, buffer, offset, length);
            handled++;
        }

        void check(int type, MemorySegment buffer, long offset, int length) {
            assertSame(this.buffer, buffer, "a message outside the ring's data area");
            assertTrue(type > 0, "a message of type " + type);
            assertTrue(length >= 0 && length <= maxPayloadLength, "a message of " + length + " bytes, max "
                    + maxPayloadLength);
            assertTrue(offset >= 0 && offset + length <= buffer.byteSize(), "a message at " + offset + "+" + length
                    + " in a data area of " + buffer.byteSize());
            // a checked slice: a payload that leaves the data area throws here (the loop-free read keeps the
            // instrumented harness cheap)
            MemorySegment payload = buffer.asSlice(offset, length);
            checksum += length == 0 ? 0 : payload.get(ValueLayout.JAVA_BYTE, length - 1);
        }

        int poll(MessageSource source, int limit) {
            handled = 0;
            int r = source.poll(this, limit);
            Ring ring = source instanceof ManyToManyRing.Consumer c ? c.ring() : (Ring) source;
            if (r >= 0) {
                assertEquals(handled, r, "poll's count and the handler's calls differ");
                assertTrue(r <= limit, "poll handed over " + r + " messages, limit " + limit);
            } else if (r == Ring.CLOSED) {
                assertEquals(0, handled, "CLOSED after handing over messages");
            } else if (r == Ring.FENCED) {
                assertTrue(ring.isFenced() && !ring.fenceReport().isEmpty(), "FENCED from a ring that is not");
            } else {
                fail("poll returned " + r);
            }
            return r;
        }

        /** Once nobody writes any more, the ring drains: polls stop handing over messages within {@code polls}. */
        void drain(Ring ring, int polls) {
            for (int i = 0; i < polls; i++) {
                if (poll(ring, 64) <= 0) {
                    return;
                }
            }
            fail("the ring still hands over messages after " + polls + " polls of 64 with nobody writing");
        }
    }

    /**
     * One ring per kind and JVM, reset before every input (a mapping per input would cost more than the input):
     * created as files in /dev/shm by the real {@code create} and unlinked at once, so nothing is left behind.
     */
    static final class Fixtures {
        private static Mpsc mpsc;
        private static Mpmc mpmc;

        static synchronized Mpsc mpsc() {
            if (mpsc == null) {
                mpsc = new Mpsc();
            }
            return mpsc;
        }

        static synchronized Mpmc mpmc() {
            if (mpmc == null) {
                mpmc = new Mpmc();
            }
            return mpmc;
        }

        static Path unlinkedPath(String name) throws java.io.IOException {
            Path p = ShmSegment.pathOf("fuzz" + ProcessHandle.current().pid(), name);
            Files.deleteIfExists(p);
            return p;
        }

        static final class Mpsc {
            private final ShmSegment segment;
            private final byte[] pristine;
            /** The segment and the rest of its last page, addressed raw. */
            private final MemorySegment page;
            private final MemorySegment image;
            private final long[][] untouched;

            @SuppressWarnings("restricted") // reads the rest of the mapping's page: the stray-write detector
            Mpsc() {
                try {
                    Path path = unlinkedPath("mpsc");
                    ManyToOneRing ring = ManyToOneRing.create(path, MPSC_CAPACITY);
                    Files.delete(path);
                    segment = ring.segment();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException("needs a writable /dev/shm: " + e.getMessage(), e);
                }
                pristine = segment.memory().toArray(ValueLayout.JAVA_BYTE);
                long pageEnd = (segment.length() + 4095) & -4096L;
                page = MemorySegment.ofAddress(segment.memory().address()).reinterpret(pageEnd);
                image = MemorySegment.ofArray(new byte[(int) pageEnd]);
                long c = BASE;
                untouched = new long[][] {
                    {0, BASE}, // segment header
                    {c + RingDescriptor.CAPACITY_OFFSET, c + RingDescriptor.STATE_OFFSET}, // config words
                    {c + RingDescriptor.FENCE_REASON_OFFSET + 4, c + RingDescriptor.FENCE_POSITION_OFFSET},
                    {c + RingDescriptor.FENCE_PID_OFFSET + 8, c + RingDescriptor.TAIL_OFFSET},
                    {c + RingDescriptor.TAIL_OFFSET + 8, c + RingDescriptor.HEAD_CACHE_OFFSET},
                    {c + RingDescriptor.HEAD_CACHE_OFFSET + 8, c + RingDescriptor.HEAD_OFFSET},
                    {c + RingDescriptor.HEAD_OFFSET + 8, c + RingDescriptor.SLEEPERS_OFFSET},
                    {c + RingDescriptor.SLEEPERS_OFFSET + 4, c + RingDescriptor.FUTEX_OFFSET},
                    {c + RingDescriptor.FUTEX_OFFSET + 4, c + RingDescriptor.DATA_OFFSET},
                    {segment.length(), pageEnd}, // past the segment, in its last page
                };
            }

            ShmSegment segment() {
                return segment;
            }

            /** The memory as {@code create} left it. */
            MemorySegment freshMemory() {
                MemorySegment.copy(pristine, 0, segment.memory(), ValueLayout.JAVA_BYTE, 0, pristine.length);
                page.asSlice(segment.length()).fill((byte) 0);
                image.copyFrom(page);
                return segment.memory();
            }

            /** The pristine ring, attached anew. */
            ManyToOneRing fresh() {
                freshMemory();
                try {
                    return ManyToOneRing.attach(segment);
                } catch (ShmFormatException e) {
                    throw new IllegalStateException(e);
                }
            }

            void assertUntouchedOutsideItsFields() {
                for (long[] range : untouched) {
                    long at = MemorySegment.mismatch(page, range[0], range[1], image, range[0], range[1]);
                    if (at >= 0) {
                        fail("the ring wrote byte " + (range[0] + at) + " of its mapping, outside every field it owns");
                    }
                }
            }
        }

        static final class Mpmc {
            private final ShmSegment segment;
            private final byte[] pristine;

            Mpmc() {
                try {
                    Path path = unlinkedPath("mpmc");
                    ManyToManyRing ring = ManyToManyRing.create(path, MPMC_SLOTS, MPMC_MAX_PAYLOAD);
                    Files.delete(path);
                    segment = ring.segment();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException("needs a writable /dev/shm: " + e.getMessage(), e);
                }
                pristine = segment.memory().toArray(ValueLayout.JAVA_BYTE);
            }

            ManyToManyRing fresh() {
                MemorySegment.copy(pristine, 0, segment.memory(), ValueLayout.JAVA_BYTE, 0, pristine.length);
                try {
                    return ManyToManyRing.attach(segment);
                } catch (ShmFormatException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
