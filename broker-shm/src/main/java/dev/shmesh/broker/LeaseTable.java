package dev.shmesh.broker;

import static dev.shmesh.broker.internal.LeaseTableDescriptor.CLAIMING;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.DEADLINE_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.FREE;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.LEASED;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.LENGTH_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.OWNER_START_TIME_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.OWNER_STATE_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.PAYLOAD_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.REAPING;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.REQUEST_ID_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.TYPE_OFFSET;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.owner;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.ownerState;
import static dev.shmesh.broker.internal.LeaseTableDescriptor.state;

import dev.shmesh.broker.internal.LeaseTableDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * At-least-once delivery on top of a {@link Ring}: a consumer takes messages under a lease recorded in shared
 * memory ({@link LeaseTableDescriptor}), and a reaper puts back into the ring every message whose lease expired
 * or whose holder process died.
 *
 * <p>{@link #pollLeased} reserves free lease slots first (CAS FREE → CLAIMING, holder = this pid), then polls
 * the ring; for each message, <em>inside the ring's handler and so before the ring frees the message's
 * space</em>, it copies the message into a reserved slot and publishes it LEASED (release) with a deadline. A
 * consumer that dies at any point thus leaves the message either still in the ring or in a LEASED slot — or
 * both, which means a duplicate, never a loss. {@link #complete} frees the slot (CAS LEASED → FREE by the
 * holder); {@link #reap} (the broker, periodically) CASes an expired or orphaned LEASED slot to REAPING,
 * re-offers its copy to the ring and frees it. See the module README for the exact guarantee.
 *
 * <p>The holder of a lease is an id: this process's pid by default, or a mesh member id ({@link #actAs}) when
 * holders live in other pid namespaces and something else (the gateway) knows which members are gone. {@link
 * #reap(Ring, Holders)} takes that knowledge as a {@link Holders}.
 *
 * <p>By convention the first 8 payload bytes of a leased message are its request id (0 if shorter), so that
 * answers carry it and clients drop duplicates. Deadlines are values of a {@link NanoClock}, {@link NanoClock#SYSTEM}
 * ({@link System#nanoTime()}: on Linux CLOCK_MONOTONIC, the same in every process of a host) unless a test injects
 * another ({@link #useClock}). Thread-safety: {@link #pollLeased} from one thread per
 * {@code LeaseTable} instance (attach one per consumer thread); {@link #complete}, {@link #extend} and
 * {@link #reap} from any thread.
 */
public final class LeaseTable implements AutoCloseable {
    /** {@link #pollLeased}: no free lease slot; complete or reap leases first. */
    public static final int NO_FREE_LEASE = -5;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final long PID = ProcessHandle.current().pid();
    private static final long START_MILLIS = startMillis(ProcessHandle.current());

    /** Who is gone, for {@link #reap(Ring, Holders)}. */
    @FunctionalInterface
    public interface Holders {
        /** Holders are pids of this pid namespace: gone when no such process (with that start time) lives. */
        Holders PIDS = LeaseTable::pidGone;
        /** Nothing is known: leases end by deadline only. */
        Holders UNKNOWN = (holder, startMillis) -> false;

        /** Whether {@code holder} (a pid, or a member id) is gone; {@code startMillis} is 0 when not recorded. */
        boolean gone(long holder, long startMillis);

        /** Holders are member ids and {@code gone} says which are gone. */
        static Holders members(java.util.function.LongPredicate gone) {
            return (holder, startMillis) -> gone.test(holder);
        }
    }

    /** Receives a leased message; the payload is the lease slot's copy, valid until {@link #complete}. */
    @FunctionalInterface
    public interface LeaseHandler {
        void onLease(int lease, long requestId, int type, MemorySegment payload, long offset, int length);
    }

    private final ShmSegment segment;
    private final MemorySegment region;
    private final int slots;
    private final int slotLength;
    private final int maxPayloadLength;
    private final int[] reserved;
    private int reservedCount;
    private int nextReserved;
    private int cursor;
    private long leaseNanos;
    private LeaseHandler handler;
    private RingCounters counters;
    private long corrupt;
    private long holder = PID;
    private long holderStartMillis = START_MILLIS;
    private NanoClock clock = NanoClock.SYSTEM;
    private final MessageHandler fill = this::fill;

    private LeaseTable(ShmSegment segment, int slots, int maxPayloadLength) {
        this.segment = segment;
        this.region = segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH);
        this.slots = slots;
        this.maxPayloadLength = maxPayloadLength;
        this.slotLength = LeaseTableDescriptor.slotLength(maxPayloadLength);
        this.reserved = new int[slots];
    }

    /** Creates {@code path} with {@code slots} lease slots for messages of up to {@code maxPayloadLength}. */
    public static LeaseTable create(Path path, int slots, int maxPayloadLength) throws IOException {
        if (slots < 1 || slots > 1 << 16) {
            throw new IllegalArgumentException("slots=" + slots + " must be in [1, 65536]");
        }
        if (maxPayloadLength < 0 || maxPayloadLength > 1 << 20) {
            throw new IllegalArgumentException("maxPayloadLength=" + maxPayloadLength + " must be in [0, 1048576]");
        }
        ShmSegment segment = ShmSegment.create(path, SegmentHeaderDescriptor.KIND_LEASES,
                SegmentHeaderDescriptor.LENGTH + LeaseTableDescriptor.regionLength(slots, maxPayloadLength));
        MemorySegment region = segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH);
        region.set(ValueLayout.JAVA_INT, LeaseTableDescriptor.SLOTS_OFFSET, slots);
        region.set(ValueLayout.JAVA_INT, LeaseTableDescriptor.MAX_PAYLOAD_LENGTH_OFFSET, maxPayloadLength);
        region.set(ValueLayout.JAVA_INT, LeaseTableDescriptor.SLOT_LENGTH_OFFSET,
                LeaseTableDescriptor.slotLength(maxPayloadLength));
        segment.publish();
        return new LeaseTable(segment, slots, maxPayloadLength);
    }

    /** Opens the lease table at {@code path} read-write and validates it. */
    public static LeaseTable open(Path path) throws IOException {
        return ShmSegment.open(path, SegmentHeaderDescriptor.KIND_LEASES, false).attachOrClose(LeaseTable::attach);
    }

    public static LeaseTable attach(ShmSegment segment) throws ShmFormatException {
        MemorySegment m = segment.memory();
        long base = SegmentHeaderDescriptor.LENGTH;
        int slots = m.get(ValueLayout.JAVA_INT, base + LeaseTableDescriptor.SLOTS_OFFSET);
        int max = m.get(ValueLayout.JAVA_INT, base + LeaseTableDescriptor.MAX_PAYLOAD_LENGTH_OFFSET);
        int slotLength = m.get(ValueLayout.JAVA_INT, base + LeaseTableDescriptor.SLOT_LENGTH_OFFSET);
        if (segment.layoutKind() != SegmentHeaderDescriptor.KIND_LEASES || slots < 1 || slots > 1 << 16 || max < 0
                || max > 1 << 20 || slotLength != LeaseTableDescriptor.slotLength(max)
                || segment.length() != SegmentHeaderDescriptor.LENGTH + LeaseTableDescriptor.regionLength(slots, max)) {
            throw new ShmFormatException(segment.path(), "lease table config is inconsistent (slots " + slots
                    + ", max payload " + max + ", slot length " + slotLength + ")",
                    "the segment is corrupt; remove it and recreate");
        }
        return new LeaseTable(segment, slots, max);
    }

    /**
     * Holds leases (and reaps) as mesh member {@code member} (1..2^32-1) instead of this process's pid: for
     * processes in other pid namespaces, whose liveness the caller of {@link #reap(Ring, Holders)} learns from
     * elsewhere. Call before the first use.
     */
    public LeaseTable actAs(long member) {
        if (member <= 0 || member > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("member=" + member + " must be in [1, 2^32)");
        }
        this.holder = member;
        this.holderStartMillis = 0;
        return this;
    }

    /**
     * Reads deadlines' time from {@code clock} instead of {@link NanoClock#SYSTEM}: for tests of lease expiry that move
     * time by hand. Deadlines live in shared memory, so every table attached to the same segment must read the same
     * clock. Call before the first use.
     */
    public LeaseTable useClock(NanoClock clock) {
        this.clock = java.util.Objects.requireNonNull(clock, "clock");
        return this;
    }

    /**
     * The generation of member ids the holders belong to (a gateway's, from Assign), stored in the table's
     * header; 0 when never set. Member ids are unique only within one generation.
     */
    public long generation() {
        return (long) LONG.getAcquire(region, (long) LeaseTableDescriptor.GENERATION_OFFSET);
    }

    /** Records the generation of member ids that hold leases from now on (the broker, once at start). */
    public void generation(long generation) {
        LONG.setRelease(region, (long) LeaseTableDescriptor.GENERATION_OFFSET, generation);
    }

    /** The id this table holds leases as: the pid, or the member given to {@link #actAs}. */
    public long holder() {
        return holder;
    }

    /** Counts redeliveries and expired leases done by {@link #reap} in this process. */
    public void bindCounters(RingCounters counters) {
        this.counters = counters;
    }

    /**
     * Takes up to {@code limit} messages from {@code ring}, each under a lease of {@code leaseNanos} held by this
     * table's holder, and hands them to {@code handler}. Pass a registered {@link ManyToManyRing.Consumer} as
     * {@code ring} so that a death inside the poll itself is recoverable too.
     *
     * @return messages leased, or {@link #NO_FREE_LEASE}, or a negative {@link Ring} sentinel from the poll
     */
    public int pollLeased(MessageSource ring, LeaseHandler handler, int limit, long leaseNanos) {
        if (limit <= 0 || leaseNanos <= 0) {
            throw new IllegalArgumentException("limit=" + limit + ", leaseNanos=" + leaseNanos + " must be positive");
        }
        if (ring.maxPayloadLength() > maxPayloadLength) {
            throw new IllegalArgumentException("ring max payload " + ring.maxPayloadLength()
                    + " exceeds the lease table's maxPayloadLength=" + maxPayloadLength);
        }
        reservedCount = 0;
        nextReserved = 0;
        for (int scanned = 0; scanned < slots && reservedCount < limit; scanned++) {
            int slot = cursor;
            cursor = cursor + 1 == slots ? 0 : cursor + 1;
            if ((long) LONG.getAcquire(region, word(slot)) == FREE
                    && LONG.compareAndSet(region, word(slot), (long) FREE, ownerState(holder, CLAIMING))) {
                reserved[reservedCount++] = slot;
            }
        }
        if (reservedCount == 0) {
            return NO_FREE_LEASE;
        }
        this.handler = handler;
        this.leaseNanos = leaseNanos;
        try {
            return ring.poll(fill, reservedCount);
        } finally {
            for (int i = nextReserved; i < reservedCount; i++) {
                LONG.compareAndSet(region, word(reserved[i]), ownerState(holder, CLAIMING), (long) FREE);
            }
            this.handler = null;
        }
    }

    private void fill(int type, MemorySegment buffer, long offset, int length) {
        int slot = reserved[nextReserved++];
        long s = slotOffset(slot);
        if (length > maxPayloadLength) {
            // cannot be leased: hand it over unleased rather than lose it
            handler.onLease(-1, 0, type, buffer, offset, length);
            LONG.compareAndSet(region, word(slot), ownerState(holder, CLAIMING), (long) FREE);
            return;
        }
        long requestId = length >= Long.BYTES ? buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset) : 0;
        region.set(ValueLayout.JAVA_LONG, s + OWNER_START_TIME_OFFSET, holderStartMillis);
        region.set(ValueLayout.JAVA_LONG, s + DEADLINE_OFFSET, clock.nanoTime() + leaseNanos);
        region.set(ValueLayout.JAVA_LONG, s + REQUEST_ID_OFFSET, requestId);
        region.set(ValueLayout.JAVA_INT, s + TYPE_OFFSET, type);
        region.set(ValueLayout.JAVA_INT, s + LENGTH_OFFSET, length);
        MemorySegment.copy(buffer, offset, region, s + PAYLOAD_OFFSET, length);
        // published before the ring frees the message: a crash from here on leaves a lease to reap
        LONG.setRelease(region, s + OWNER_STATE_OFFSET, ownerState(holder, LEASED));
        handler.onLease(slot, requestId, type, region, s + PAYLOAD_OFFSET, length);
    }

    /**
     * Ends lease {@code lease}: the message is done.
     *
     * @return false when the lease is no longer this process's (it expired and was reaped: a redelivery is on its
     *     way, and the answer for this request id will be produced twice)
     */
    public boolean complete(int lease) {
        checkLease(lease);
        return LONG.compareAndSet(region, word(lease), ownerState(holder, LEASED), (long) FREE);
    }

    /** Moves lease {@code lease}'s deadline to now + {@code leaseNanos}; false when it is no longer held. */
    public boolean extend(int lease, long leaseNanos) {
        checkLease(lease);
        if ((long) LONG.getAcquire(region, word(lease)) != ownerState(holder, LEASED)) {
            return false;
        }
        LONG.setRelease(region, slotOffset(lease) + DEADLINE_OFFSET, clock.nanoTime() + leaseNanos);
        return (long) LONG.getAcquire(region, word(lease)) == ownerState(holder, LEASED);
    }

    /**
     * Re-offers to {@code ring} every leased message whose deadline passed or whose holder died (and every message
     * of a reaper that died mid-way), then frees its slot. A message the ring refuses (back pressure) stays leased
     * and is retried by the next call. Holders are pids ({@link Holders#PIDS}); allocates.
     *
     * @return messages redelivered
     */
    public int reap(Ring ring) {
        return reap(ring, Holders.PIDS);
    }

    /**
     * {@link #reap(Ring)} with {@code holders} saying who is gone: {@link Holders#UNKNOWN} when holders run in
     * other pid namespaces and nothing else is known (deadlines only: a pid that happens to exist here must not be
     * taken for the holder, and a CLAIMING slot of a dead holder is then never freed), or {@link Holders#members}
     * when the holders are mesh members and the gateway says which are gone: their leases are redelivered at once
     * and their CLAIMING slots freed.
     */
    public int reap(MessageSink ring, Holders holders) {
        int redelivered = 0;
        long now = clock.nanoTime();
        for (int slot = 0; slot < slots; slot++) {
            long s = slotOffset(slot);
            long word = (long) LONG.getAcquire(region, word(slot));
            int state = state(word);
            if (state == FREE) {
                continue;
            }
            long owner = owner(word);
            if (state == CLAIMING) {
                if (owner != holder && holders.gone(owner, 0)) {
                    LONG.compareAndSet(region, word(slot), word, (long) FREE); // the message is still in the ring
                }
                continue;
            }
            boolean expired = state == LEASED && now - region.get(ValueLayout.JAVA_LONG, s + DEADLINE_OFFSET) > 0;
            boolean orphaned = owner != holder && holders.gone(owner,
                    state == REAPING ? 0 : region.get(ValueLayout.JAVA_LONG, s + OWNER_START_TIME_OFFSET));
            if ((state != LEASED && state != REAPING) || !(expired || orphaned)) {
                continue;
            }
            if (!LONG.compareAndSet(region, word(slot), word, ownerState(holder, REAPING))) {
                continue; // completed or taken by another reaper meanwhile
            }
            int type = region.get(ValueLayout.JAVA_INT, s + TYPE_OFFSET);
            int length = region.get(ValueLayout.JAVA_INT, s + LENGTH_OFFSET);
            if (type <= 0 || length < 0 || length > maxPayloadLength) {
                corrupt++; // fail closed: leave it REAPING by us, visible to an operator, never "repaired"
                continue;
            }
            int r = ring.offer(type, region, s + PAYLOAD_OFFSET, length);
            if (r >= 0) {
                LONG.setRelease(region, word(slot), (long) FREE);
                redelivered++;
                RingCounters c = counters;
                if (c != null) {
                    c.addRedelivered(1);
                    if (expired) {
                        c.addLeasesExpired(1);
                    }
                }
            } else {
                LONG.setRelease(region, word(slot), word); // retry on the next reap
            }
        }
        return redelivered;
    }

    /**
     * Takes a message rescued from a gone consumer ({@link ManyToManyRing#releaseAbandoned}) as a lease of this
     * table's holder that has already expired, so that the next {@link #reap} re-offers it; a
     * {@link ManyToManyRing.Rescuer}. Its redelivery counts as redelivered and as an expired lease.
     *
     * @return false when no lease slot is free or the message is longer than the slots hold
     */
    public boolean adopt(int type, MemorySegment buffer, long offset, int length) {
        if (type <= 0 || length < 0 || length > maxPayloadLength) {
            return false;
        }
        for (int scanned = 0; scanned < slots; scanned++) {
            int slot = cursor;
            cursor = cursor + 1 == slots ? 0 : cursor + 1;
            if ((long) LONG.getAcquire(region, word(slot)) != FREE
                    || !LONG.compareAndSet(region, word(slot), (long) FREE, ownerState(holder, CLAIMING))) {
                continue;
            }
            long s = slotOffset(slot);
            region.set(ValueLayout.JAVA_LONG, s + OWNER_START_TIME_OFFSET, holderStartMillis);
            region.set(ValueLayout.JAVA_LONG, s + DEADLINE_OFFSET, clock.nanoTime()); // expired once time moves on
            region.set(ValueLayout.JAVA_LONG, s + REQUEST_ID_OFFSET,
                    length >= Long.BYTES ? buffer.get(ValueLayout.JAVA_LONG_UNALIGNED, offset) : 0);
            region.set(ValueLayout.JAVA_INT, s + TYPE_OFFSET, type);
            region.set(ValueLayout.JAVA_INT, s + LENGTH_OFFSET, length);
            MemorySegment.copy(buffer, offset, region, s + PAYLOAD_OFFSET, length);
            LONG.setRelease(region, word(slot), ownerState(holder, LEASED));
            return true;
        }
        return false;
    }

    /** Slots whose contents {@link #reap} refused as corrupt, in this process. */
    public long corruptLeases() {
        return corrupt;
    }

    /** Leases currently not FREE. */
    public int inUse() {
        int n = 0;
        for (int slot = 0; slot < slots; slot++) {
            if ((long) LONG.getAcquire(region, word(slot)) != FREE) {
                n++;
            }
        }
        return n;
    }

    public int slots() {
        return slots;
    }

    public ShmSegment segment() {
        return segment;
    }

    @Override
    public void close() {
        segment.close();
    }

    private long slotOffset(int slot) {
        return LeaseTableDescriptor.SLOTS_START + (long) slot * slotLength;
    }

    private long word(int slot) {
        return slotOffset(slot) + OWNER_STATE_OFFSET;
    }

    private void checkLease(int lease) {
        if (lease < 0 || lease >= slots) {
            throw new IllegalArgumentException("lease=" + lease + " must be in [0, " + slots + ")");
        }
    }

    private static boolean pidGone(long pid, long startMillis) {
        if (pid == PID) {
            return startMillis != 0 && startMillis != START_MILLIS;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        return p.isEmpty() || !p.get().isAlive() || (startMillis != 0 && startMillis(p.get()) != startMillis);
    }

    private static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }
}
