package dev.shmesh.broker;

import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_STATE;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_PID_OFFSET;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_POSITION_OFFSET;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_REASON_OFFSET;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_ACTIVE;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_CLOSED;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_FENCED;

import dev.shmesh.broker.internal.RingDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.linux.Futex;
import dev.shmesh.linux.LinuxException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * What both rings share: the control block (state, fencing, sleepers, futex word) and the wake-up protocol.
 * Offsets are absolute within the segment's mapping.
 */
abstract sealed class AbstractRing permits ManyToOneRing, ManyToManyRing {
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    /**
     * The whole address space as one constant segment of global scope. The many-to-one ring's hot paths address
     * its control block and its data area (at {@link #dataAddress} plus an index) through it, and C2 folds its
     * checks away. Through the ring's own segment every access loads and checks bounds, alignment, read-only and
     * liveness, which cost the producer about a fifth of its throughput with 64-byte messages (bench/README.md).
     *
     * <p>Nothing is given up as long as two rules hold. Every index is inside the data area before it is used: the
     * ring derives it from a position with the mask and checks a record's end against the capacity, for its own
     * records and for any length read from shared memory. And the mapping outlives every access: a ring segment is
     * unmapped by the GC, never by {@code close()} ({@link ShmSegment}), and each public method that goes raw keeps the
     * ring reachable to its end (a reachability fence in a {@code finally}). Each raw data access is preceded by an
     * {@code assert} of its bounds, so the tests (run with {@code -ea}) catch an index bug as an error, not as
     * corrupted memory. Callers still get the checked {@link #data} segment.
     */
    @SuppressWarnings("restricted")
    static final MemorySegment ADDRESS_SPACE = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    final ShmSegment segment;
    /** The whole mapping: control block offsets below are absolute. */
    final MemorySegment memory;
    /** The data area alone; record and slot indices are relative to it. */
    final MemorySegment data;
    /** Where {@link #data} starts in {@link #ADDRESS_SPACE}. */
    final long dataAddress;
    final int capacity;
    final int maxPayloadLength;
    final long stateOffset;
    final long tailOffset;
    final long headCacheOffset;
    final long headOffset;
    final long sleepersOffset;
    final long futexOffset;

    RingCounters counters;
    private CorruptionListener listener;

    AbstractRing(ShmSegment segment, int capacity, int maxPayloadLength) {
        long base = SegmentHeaderDescriptor.LENGTH;
        this.segment = segment;
        this.memory = segment.memory();
        this.data = memory.asSlice(base + RingDescriptor.DATA_OFFSET, capacity);
        this.dataAddress = data.address();
        this.capacity = capacity;
        this.maxPayloadLength = maxPayloadLength;
        this.stateOffset = base + RingDescriptor.STATE_OFFSET;
        this.tailOffset = base + RingDescriptor.TAIL_OFFSET;
        this.headCacheOffset = base + RingDescriptor.HEAD_CACHE_OFFSET;
        this.headOffset = base + RingDescriptor.HEAD_OFFSET;
        this.sleepersOffset = base + RingDescriptor.SLEEPERS_OFFSET;
        this.futexOffset = base + RingDescriptor.FUTEX_OFFSET;
    }

    /** What a ring segment's config block says, not yet validated against the segment. */
    record Config(int capacity, int maxPayloadLength, int slotLength) {}

    /**
     * Creates a ring segment of {@code length} bytes, writes its config block, lets {@code init} prepare the rest
     * (offsets in the whole mapping) and publishes it; a failure removes the file again.
     */
    static ShmSegment createPublished(java.nio.file.Path path, int kind, long length, Config config,
            java.util.function.Consumer<MemorySegment> init) throws java.io.IOException {
        return publishRing(ShmSegment.create(path, kind, length), config, init);
    }

    /** Formats a just-created {@code segment} as a ring with {@code config} and publishes it; unlinks it on failure. */
    static ShmSegment publishRing(ShmSegment segment, Config config, java.util.function.Consumer<MemorySegment> init)
            throws java.io.IOException {
        try {
            MemorySegment m = segment.memory();
            long base = SegmentHeaderDescriptor.LENGTH;
            m.set(ValueLayout.JAVA_INT, base + RingDescriptor.CAPACITY_OFFSET, config.capacity());
            m.set(ValueLayout.JAVA_INT, base + RingDescriptor.MAX_PAYLOAD_LENGTH_OFFSET, config.maxPayloadLength());
            m.set(ValueLayout.JAVA_INT, base + RingDescriptor.SLOT_LENGTH_OFFSET, config.slotLength());
            init.accept(m);
            segment.publish();
            return segment;
        } catch (RuntimeException e) {
            segment.close();
            segment.unlink();
            throw e;
        }
    }

    /** Checks that {@code segment} holds a ring of {@code kind} and reads its config block. */
    static Config readConfig(ShmSegment segment, int kind) throws ShmFormatException {
        if (segment.layoutKind() != kind) {
            throw new ShmFormatException(segment.path(), "holds a " + SegmentHeaderDescriptor.kindName(
                    segment.layoutKind()) + ", not a " + SegmentHeaderDescriptor.kindName(kind),
                    "check which segment was passed");
        }
        MemorySegment m = segment.memory();
        long base = SegmentHeaderDescriptor.LENGTH;
        return new Config(m.get(ValueLayout.JAVA_INT, base + RingDescriptor.CAPACITY_OFFSET),
                m.get(ValueLayout.JAVA_INT, base + RingDescriptor.MAX_PAYLOAD_LENGTH_OFFSET),
                m.get(ValueLayout.JAVA_INT, base + RingDescriptor.SLOT_LENGTH_OFFSET));
    }

    /** The error for a config block that does not fit its segment. */
    static ShmFormatException inconsistent(ShmSegment segment, Config config) {
        return new ShmFormatException(segment.path(), "ring config is inconsistent (capacity " + config.capacity()
                + ", max payload " + config.maxPayloadLength() + ", slot length " + config.slotLength() + ", segment "
                + segment.length() + " bytes)", "the segment is corrupt; remove it and recreate the ring");
    }

    /** Whether there is claimed or published work between head and tail. */
    abstract boolean hasWork();

    /** How many consumers to wake per publish. */
    abstract int wakeCount();

    final int state() {
        return (int) INT.getAcquire(memory, stateOffset);
    }

    /**
     * {@link Ring#CLOSED} or {@link Ring#FENCED} for a non-active state. A state word that no ring writes (a broken
     * peer's) fences the ring, so that every party sees it fenced, not only those that happen to check the state.
     */
    final int sentinelFor(int state) {
        if (state == STATE_CLOSED) {
            return Ring.CLOSED;
        }
        if (state != STATE_FENCED) {
            return fence(FENCE_BAD_STATE, state);
        }
        return Ring.FENCED;
    }

    /**
     * Fences the ring: CAS state to FENCED (from ACTIVE or CLOSED), record reason/position/pid, tell the listener.
     * Idempotent; the first fencer's report wins.
     */
    final int fence(int reason, long position) {
        int state;
        while ((state = state()) != STATE_FENCED) {
            if (INT.compareAndSet(memory, stateOffset, state, STATE_FENCED)) {
                memory.set(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.LENGTH + FENCE_REASON_OFFSET, reason);
                memory.set(ValueLayout.JAVA_LONG, SegmentHeaderDescriptor.LENGTH + FENCE_POSITION_OFFSET, position);
                LONG.setRelease(memory, SegmentHeaderDescriptor.LENGTH + (long) FENCE_PID_OFFSET,
                        ProcessHandle.current().pid());
                poisonHeadCache();
                wakeAll();
                CorruptionListener l = listener;
                if (l != null) {
                    try {
                        l.onFenced((Ring) this, fenceReport());
                    } catch (RuntimeException ignored) {
                        // a listener's failure must not escape a broker loop; the state is already FENCED
                    }
                }
                break;
            }
        }
        return Ring.FENCED;
    }

    public final boolean isFenced() {
        return state() == STATE_FENCED;
    }

    public final String fenceReport() {
        if (!isFenced()) {
            return "";
        }
        long base = SegmentHeaderDescriptor.LENGTH;
        int reason = memory.get(ValueLayout.JAVA_INT, base + FENCE_REASON_OFFSET);
        long position = memory.get(ValueLayout.JAVA_LONG, base + FENCE_POSITION_OFFSET);
        long pid = (long) LONG.getAcquire(memory, base + (long) FENCE_PID_OFFSET);
        return "ring " + segment.path() + " fenced by pid " + pid + ": " + RingDescriptor.fenceReasonName(reason)
                + " at position " + position + "; the ring is out of service, drop the peer that wrote it and "
                + "recreate the ring";
    }

    public final void closeRing() {
        INT.compareAndSet(memory, stateOffset, STATE_ACTIVE, STATE_CLOSED);
        poisonHeadCache();
        wakeAll();
    }

    /**
     * After the state left ACTIVE: makes the head cache unusable (it reads as "the tail is behind the head"), so that
     * an MPSC producer, which checks the state only on its slow path, takes that path on its next claim and sees
     * the state. The many-to-many ring does not use the head cache.
     */
    final void poisonHeadCache() {
        LONG.setVolatile(memory, headCacheOffset, POISONED_HEAD_CACHE);
    }

    static final long POISONED_HEAD_CACHE = Long.MAX_VALUE;

    public final void onCorruption(CorruptionListener listener) {
        this.listener = listener;
    }

    public final void bindCounters(RingCounters counters) {
        this.counters = counters;
    }

    public final MemorySegment buffer() {
        return data;
    }

    public final int capacity() {
        return capacity;
    }

    public final int maxPayloadLength() {
        return maxPayloadLength;
    }

    public final ShmSegment segment() {
        return segment;
    }

    public final void close() {
        segment.close();
    }

    /*
     * Wake-up protocol (Dekker): the consumer increments SLEEPERS (a full fence), reads the futex word, rechecks
     * tail != head and only then FUTEX_WAITs on the word it read. A producer CASes tail (a full fence) before
     * it reads SLEEPERS in commit. So either the producer sees the sleeper and bumps + wakes the futex word
     * (and the kernel's compare in FUTEX_WAIT catches a bump that came between the read and the wait), or the
     * consumer sees the moved tail and does not sleep. Claimed-but-uncommitted counts as work: the consumer
     * never sleeps past a record that is about to be published.
     */
    public final int awaitWork(long timeoutNanos) {
        int unused = (int) INT.getAndAdd(memory, sleepersOffset, 1);
        try {
            int sequence = (int) INT.getVolatile(memory, futexOffset);
            if (hasWork() || state() != STATE_ACTIVE) {
                return Futex.VALUE_CHANGED;
            }
            try {
                return Futex.await(memory, futexOffset, sequence, timeoutNanos);
            } catch (LinuxException e) {
                // cannot happen for a valid mapping; degrade to a timed sleep rather than leave the loop
                LockSupport.parkNanos(Math.max(0, Math.min(timeoutNanos, 1_000_000L)));
                return Futex.TIMED_OUT;
            }
        } finally {
            int unused2 = (int) INT.getAndAdd(memory, sleepersOffset, -1);
        }
    }

    /** Producer side: wakes consumers only if one advertised that it sleeps. */
    final void wakeIfSleeping() {
        if ((int) INT.getVolatile(memory, sleepersOffset) > 0) {
            wakeSleepers();
        }
    }

    /** Producer side, for a caller that has read a positive sleepers count itself: bumps the futex word, wakes. */
    final void wakeSleepers() {
        wake(wakeCount());
    }

    public final void wakeConsumers() {
        wakeAll();
    }

    private void wakeAll() {
        wake(Integer.MAX_VALUE);
    }

    private void wake(int count) {
        int unused = (int) INT.getAndAdd(memory, futexOffset, 1);
        try {
            Futex.wake(memory, futexOffset, count);
        } catch (LinuxException ignored) {
            // sleepers wait with a timeout: a lost wake costs latency, never a message
        }
    }
}
