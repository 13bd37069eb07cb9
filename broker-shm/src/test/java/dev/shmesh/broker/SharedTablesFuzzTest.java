package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shmesh.broker.internal.CountersDescriptor;
import dev.shmesh.broker.internal.LeaseTableDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.linux.FileDescriptors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The other shared memory a process reads from its peers: a lease table's slots as the reaper and the lease holders
 * see them, and a segment handed over by descriptor — its header, its config block, and then the typed view on it
 * (a many-to-many ring, a lease table, the counters that the gateway reads for /metrics) — as the receiver checks it.
 *
 * <p>What must hold: a segment is either refused with a {@link ShmFormatException} or attached with a geometry that
 * fits it, and then works; the reaper redelivers only messages with a positive type and a length within the table's
 * max payload, copied from inside the slot, and leaves the rest (counted as corrupt, never repaired); nothing throws
 * another exception. Inputs: {@code SharedTablesFuzzTestInputs/<method>/}, decoded by {@link FuzzInput}.
 */
class SharedTablesFuzzTest {
    static final int LEASE_SLOTS = 4;
    static final int LEASE_MAX_PAYLOAD = 64;
    static final int COUNTER_RECORDS = 4;

    // lease table program
    static final int L_W_WORD = 0;
    static final int L_W_LONG = 1;
    static final int L_W_INT = 2;
    static final int L_W_PAYLOAD = 3;
    static final int L_REAP = 4;
    static final int L_POLL_LEASED = 5;
    static final int L_COMPLETE = 6;
    static final int L_EXTEND = 7;
    static final int L_IN_USE = 8;
    static final int L_ADOPT = 9;
    static final int LEASE_OPS = 10;

    // segment kinds the receiver is asked for
    static final int S_MANY_TO_MANY = 0;
    static final int S_LEASES = 1;
    static final int S_COUNTERS = 2;
    static final int S_MANY_TO_ONE = 3;

    private static final MemorySegment SOURCE = MemorySegment.ofArray(new byte[256]);

    @FuzzTest
    void leaseTable(byte[] program) {
        Tables.Leases fixture = Tables.leases();
        LeaseTable table = fixture.fresh();
        MemorySegment region = fixture.segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH);
        int slotLength = LeaseTableDescriptor.slotLength(LEASE_MAX_PAYLOAD);
        FuzzInput in = new FuzzInput(program);
        if (in.u8() % 2 == 1) {
            table.actAs(1 + in.below(7));
        }
        MessageSink sink = (type, source, offset, length) -> {
            assertTrue(type > 0, "redelivered a message of type " + type);
            assertTrue(length >= 0 && length <= LEASE_MAX_PAYLOAD, "redelivered " + length + " bytes");
            assertNotNull(source.asSlice(offset, length)); // a checked slice: inside the slot's segment
            return in.u8() % 4 == 0 ? Ring.BACK_PRESSURED : 8;
        };
        LeaseTable.LeaseHandler leases = (lease, requestId, type, payload, offset, length) -> {
            assertTrue(lease >= -1 && lease < LEASE_SLOTS, "lease " + lease);
            assertTrue(type > 0 && length >= 0, "leased type " + type + ", " + length + " bytes");
            assertNotNull(payload.asSlice(offset, length));
        };
        for (int step = 0; step < RingFuzzTest.MAX_STEPS && in.hasMore(); step++) {
            int op = in.below(LEASE_OPS);
            int slot = in.below(LEASE_SLOTS);
            long s = LeaseTableDescriptor.SLOTS_START + (long) slot * slotLength;
            switch (op) {
                case L_W_WORD -> {
                    int state = in.u8() % 6;
                    long owner = in.u8() % 4 == 0 ? in.i32() & 0xFFFF_FFFFL : in.below(8);
                    region.set(ValueLayout.JAVA_LONG, s + LeaseTableDescriptor.OWNER_STATE_OFFSET,
                            state == 5 ? in.i64() : LeaseTableDescriptor.ownerState(owner, state));
                }
                case L_W_LONG -> {
                    long at = s + switch (in.u8() % 3) {
                        case 0 -> LeaseTableDescriptor.OWNER_START_TIME_OFFSET;
                        case 1 -> LeaseTableDescriptor.DEADLINE_OFFSET;
                        default -> LeaseTableDescriptor.REQUEST_ID_OFFSET;
                    };
                    long current = at == s + LeaseTableDescriptor.DEADLINE_OFFSET ? System.nanoTime()
                            : region.get(ValueLayout.JAVA_LONG, at);
                    region.set(ValueLayout.JAVA_LONG, at, RingFuzzTest.value(in, current));
                }
                case L_W_INT -> {
                    long at = s + (in.u8() % 2 == 0 ? LeaseTableDescriptor.TYPE_OFFSET : LeaseTableDescriptor.LENGTH_OFFSET);
                    region.set(ValueLayout.JAVA_INT, at, (int) RingFuzzTest.value(in, region.get(ValueLayout.JAVA_INT, at)));
                }
                case L_W_PAYLOAD -> {
                    byte[] bytes = in.bytes(in.below(LEASE_MAX_PAYLOAD + 1));
                    MemorySegment.copy(bytes, 0, region, ValueLayout.JAVA_BYTE, s + LeaseTableDescriptor.PAYLOAD_OFFSET,
                            bytes.length);
                }
                case L_REAP -> {
                    int gone = in.u8();
                    int r = table.reap(sink, LeaseTable.Holders.members(member -> (gone >>> (int) (member & 7) & 1) != 0));
                    assertTrue(r >= 0 && r <= LEASE_SLOTS, "reap redelivered " + r);
                }
                case L_POLL_LEASED -> {
                    int limit = 1 + in.below(8);
                    int r = table.pollLeased(new Messages(in), leases, limit, 1L + (in.i32() & 0x7FFF_FFFF));
                    assertTrue(r == LeaseTable.NO_FREE_LEASE || (r >= 0 && r <= limit), "pollLeased returned " + r);
                }
                case L_COMPLETE -> table.complete(slot);
                case L_EXTEND -> table.extend(slot, 1L + (in.i32() & 0x7FFF_FFFF));
                case L_IN_USE -> {
                    int n = table.inUse();
                    assertTrue(n >= 0 && n <= LEASE_SLOTS, "inUse " + n);
                }
                case L_ADOPT -> table.adopt((int) RingFuzzTest.value(in, 1), SOURCE, 0,
                        in.below(LEASE_MAX_PAYLOAD + 9) - 4);
                default -> throw new AssertionError(op);
            }
        }
        assertTrue(table.corruptLeases() >= 0);
    }

    @FuzzTest
    void segments(byte[] program) {
        FuzzInput in = new FuzzInput(program);
        int kind = in.below(4);
        Tables.Handed handed = switch (kind) {
            case S_MANY_TO_MANY -> Tables.handed(S_MANY_TO_MANY);
            case S_LEASES -> Tables.handed(S_LEASES);
            case S_COUNTERS -> Tables.handed(S_COUNTERS);
            default -> null;
        };
        MemorySegment memory = handed != null ? handed.fresh() : RingFuzzTest.Fixtures.mpsc().freshMemory();
        if (handed != null) {
            writeHeader(in, memory);
        }
        // the config block and whatever follows it: up to 16 words of the region's first 256 bytes
        for (int n = in.u8() % 17; n > 0; n--) {
            long at = SegmentHeaderDescriptor.LENGTH + 4L * in.below(64);
            memory.set(ValueLayout.JAVA_INT, at, (int) RingFuzzTest.value(in, memory.get(ValueLayout.JAVA_INT, at)));
        }
        try {
            switch (kind) {
                case S_MANY_TO_MANY -> {
                    try (ManyToManyRing ring = ShmSegment.openSealedFd(handed.fd, SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING)
                            .attachOrClose(ManyToManyRing::attach)) {
                        assertTrue(ManyToManyRing.segmentLength(ring.slots(), ring.maxPayloadLength())
                                == ring.segment().length(), "attached a ring whose geometry does not fit its segment");
                        new RingFuzzTest.Deliveries(ring.buffer(), ring.maxPayloadLength()).poll(ring, 1 + in.below(8));
                        ring.offer(1, SOURCE, 0, Math.min(ring.maxPayloadLength(), in.u8()));
                    }
                }
                case S_LEASES -> {
                    try (LeaseTable table = ShmSegment.openSealedFd(handed.fd, SegmentHeaderDescriptor.KIND_LEASES)
                            .attachOrClose(LeaseTable::attach)) {
                        int n = table.inUse();
                        assertTrue(n >= 0 && n <= table.slots(), "inUse " + n);
                        table.reap((type, source, offset, length) -> Ring.BACK_PRESSURED, LeaseTable.Holders.UNKNOWN);
                    }
                }
                case S_COUNTERS -> {
                    // as the gateway reads the broker's counters for /metrics: mapped read-only through the fd
                    try (CountersReader reader = CountersReader.open(Path.of("/proc/self/fd/" + handed.fd))) {
                        int size = reader.size();
                        for (Map.Entry<String, Map<String, Long>> e : reader.snapshot().entrySet()) {
                            assertTrue(e.getKey().length() <= CountersDescriptor.MAX_LABEL_LENGTH, "label " + e.getKey());
                        }
                        assertTrue(size >= 0, "size " + size);
                    }
                }
                default -> {
                    ManyToOneRing ring = ManyToOneRing.attach(RingFuzzTest.Fixtures.mpsc().segment());
                    assertTrue(ManyToOneRing.segmentLength(ring.capacity()) == ring.segment().length());
                    new RingFuzzTest.Deliveries(ring.buffer(), ring.maxPayloadLength()).poll(ring, 1 + in.below(8));
                }
            }
        } catch (ShmFormatException refused) {
            assertNotNull(refused.getMessage());
        } catch (IOException e) {
            throw new AssertionError("a segment refused with another exception than ShmFormatException: " + e, e);
        }
    }

    /** The segment header as a sender may have written it; the version is never 0, which waits 2 s by design. */
    private static void writeHeader(FuzzInput in, MemorySegment memory) {
        if (in.u8() % 4 == 0) {
            memory.set(ValueLayout.JAVA_LONG, SegmentHeaderDescriptor.MAGIC_OFFSET, in.i64());
        }
        if (in.u8() % 4 == 0) {
            int version = in.i32();
            memory.set(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET,
                    version == 0 ? SegmentHeaderDescriptor.VERSION : version);
        }
        if (in.u8() % 4 == 0) {
            memory.set(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.LAYOUT_KIND_OFFSET, in.u8() % 4 == 0 ? in.i32() : in.below(6));
        }
        if (in.u8() % 4 == 0) {
            long at = SegmentHeaderDescriptor.TOTAL_LENGTH_OFFSET;
            memory.set(ValueLayout.JAVA_LONG, at, RingFuzzTest.value(in, memory.get(ValueLayout.JAVA_LONG, at)));
        }
    }

    /** A well-behaved source of the input's messages, as a ring hands them over (within its max payload). */
    private static final class Messages implements MessageSource {
        private final FuzzInput in;

        Messages(FuzzInput in) {
            this.in = in;
        }

        @Override
        public int poll(MessageHandler handler, int limit) {
            int n = Math.min(limit, in.below(4));
            for (int i = 0; i < n; i++) {
                handler.onMessage(1 + in.below(8), SOURCE, in.below(16), in.below(LEASE_MAX_PAYLOAD + 1));
            }
            return n;
        }

        @Override
        public int maxPayloadLength() {
            return LEASE_MAX_PAYLOAD;
        }
    }

    /** Pristine images of each kind of segment, made once by the real {@code create}s; memfds to hand over. */
    static final class Tables {
        private static Leases leases;
        private static final Handed[] HANDED = new Handed[3];

        static synchronized Leases leases() {
            if (leases == null) {
                leases = new Leases();
            }
            return leases;
        }

        static synchronized Handed handed(int kind) {
            if (HANDED[kind] == null) {
                HANDED[kind] = new Handed(kind);
            }
            return HANDED[kind];
        }

        static byte[] image(int kind) {
            try {
                Path path = RingFuzzTest.Fixtures.unlinkedPath("image" + kind);
                AutoCloseable made = switch (kind) {
                    case S_MANY_TO_MANY -> ManyToManyRing.create(path, RingFuzzTest.MPMC_SLOTS, RingFuzzTest.MPMC_MAX_PAYLOAD);
                    case S_LEASES -> LeaseTable.create(path, LEASE_SLOTS, LEASE_MAX_PAYLOAD);
                    default -> Counters.create(path, COUNTER_RECORDS);
                };
                try (made) {
                    return Files.readAllBytes(path);
                } finally {
                    Files.delete(path);
                }
            } catch (Exception e) {
                throw new IllegalStateException("needs a writable /dev/shm: " + e.getMessage(), e);
            }
        }

        static final class Leases {
            final ShmSegment segment;
            private final byte[] pristine;

            Leases() {
                try {
                    Path path = RingFuzzTest.Fixtures.unlinkedPath("leases");
                    segment = LeaseTable.create(path, LEASE_SLOTS, LEASE_MAX_PAYLOAD).segment();
                    Files.delete(path);
                } catch (IOException e) {
                    throw new IllegalStateException("needs a writable /dev/shm: " + e.getMessage(), e);
                }
                pristine = segment.memory().toArray(ValueLayout.JAVA_BYTE);
            }

            LeaseTable fresh() {
                MemorySegment.copy(pristine, 0, segment.memory(), ValueLayout.JAVA_BYTE, 0, pristine.length);
                try {
                    return LeaseTable.attach(segment);
                } catch (ShmFormatException e) {
                    throw new IllegalStateException(e);
                }
            }
        }

        /** A sealed memfd holding a segment of one kind, as a peer hands it over; reset to a pristine image. */
        static final class Handed {
            final int fd;
            private final MemorySegment memory;
            private final byte[] pristine;

            Handed(int kind) {
                pristine = image(kind);
                int layout = switch (kind) {
                    case S_MANY_TO_MANY -> SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING;
                    case S_LEASES -> SegmentHeaderDescriptor.KIND_LEASES;
                    default -> SegmentHeaderDescriptor.KIND_COUNTERS;
                };
                try {
                    ShmSegment segment = ShmSegment.createAnonymous("fuzz-handed" + kind, layout, pristine.length);
                    fd = segment.anonymousFd();
                    memory = segment.memory();
                } catch (IOException e) {
                    throw new IllegalStateException("cannot make a memfd: " + e.getMessage(), e);
                }
                Runtime.getRuntime().addShutdownHook(new Thread(() -> FileDescriptors.closeQuietly(fd)));
            }

            MemorySegment fresh() {
                MemorySegment.copy(pristine, 0, memory, ValueLayout.JAVA_BYTE, 0, pristine.length);
                return memory;
            }
        }
    }
}
