package dev.shmesh.broker;

import java.lang.foreign.MemorySegment;

/**
 * A bounded ring of typed messages in a shared-memory segment, shared by processes. Implementations:
 * {@link ManyToOneRing} (MPSC, variable-length records) and {@link ManyToManyRing} (MPMC, fixed-size slots).
 *
 * <p>Hot-path methods never throw for conditions caused by other processes or by load and never allocate:
 * they return a non-negative result or one of the sentinels below. Caller mistakes (a non-positive type, a
 * negative length, an index that {@link #tryClaim} did not return) are {@link IllegalArgumentException}s.
 *
 * <p>Everything read from shared memory is untrusted: a length, type, position or sequence that cannot be
 * right fences the ring (state FENCED in shared memory, seen by every process); from then on every operation
 * returns {@link #FENCED} and {@link #fenceReport()} says what was seen where. Other rings are unaffected.
 *
 * <p>Thread-safety: producer methods ({@code tryClaim}, {@code commit}, {@code abort}, {@code offer}) from any
 * number of threads and processes. Consumer methods ({@code poll}, {@code awaitWork}) from one thread at a time
 * for {@link ManyToOneRing}, from any number for {@link ManyToManyRing}.
 */
public sealed interface Ring extends MessageSource, MessageSink, AutoCloseable permits ManyToOneRing, ManyToManyRing {
    /** The ring is full; retry later. Counted in {@code backPressureEvents}. */
    int BACK_PRESSURED = -1;
    /** The ring was closed with {@link #closeRing()}; producers stop, consumers drain. */
    int CLOSED = -2;
    /** The payload is longer than {@link #maxPayloadLength()}. */
    int TOO_LARGE = -3;
    /** The ring is fenced after corruption was seen; see {@link #fenceReport()}. */
    int FENCED = -4;

    /**
     * Claims space for one message of {@code length} payload bytes. Write the payload into
     * {@link #buffer()} at {@code [index, index + length)}, then {@link #commit} or {@link #abort} it — promptly:
     * a consumer cannot pass an uncommitted record.
     *
     * @return the payload's index in {@link #buffer()}, or {@link #BACK_PRESSURED}, {@link #CLOSED},
     *     {@link #TOO_LARGE}, {@link #FENCED}
     */
    int tryClaim(int type, int length);

    /** Publishes a claimed message (release semantics) and wakes a sleeping consumer if one advertised it. */
    void commit(int index);

    /** Gives a claim back; consumers skip it. */
    void abort(int index);

    /**
     * Copies {@code length} bytes of {@code source} from {@code offset} into the ring as one message.
     *
     * @return a non-negative index on success, or {@link #BACK_PRESSURED}, {@link #CLOSED}, {@link #TOO_LARGE},
     *     {@link #FENCED}
     */
    int offer(int type, MemorySegment source, long offset, int length);

    /**
     * Hands up to {@code limit} published messages to {@code handler}, in order, and frees their space. A
     * message whose handler throws counts as consumed; the exception propagates after the ring is consistent.
     *
     * @return the number of messages handled (0 when empty), or {@link #CLOSED} when the ring is closed and
     *     drained, or {@link #FENCED} when the ring is (or this call found it) corrupt — also when messages before
     *     the corrupt one were handed over in this call
     */
    int poll(MessageHandler handler, int limit);

    /**
     * Consumer side of the wake-up protocol: advertises a sleeping consumer (getAndAdd on the sleepers word,
     * a full fence), rechecks the ring, and if still empty waits on the futex word for at most
     * {@code timeoutNanos}. Producers that see a sleeper bump the futex word and {@code FUTEX_WAKE} it.
     *
     * @return a {@link dev.shmesh.linux.Futex} result: {@code WOKEN}, {@code VALUE_CHANGED} (work arrived before
     *     sleeping, or the ring is not active), {@code TIMED_OUT}, {@code INTERRUPTED}
     */
    int awaitWork(long timeoutNanos);

    /**
     * Wakes every consumer sleeping in {@link #awaitWork} without publishing anything, so that it looks at
     * state outside the ring (a shutdown, a peer found dead). Costs a futex syscall; not for the hot path.
     */
    void wakeConsumers();

    /** The data area; claimed indices point into it. */
    MemorySegment buffer();

    /** Bytes (MPSC) or slots times slot length (MPMC) of the data area. */
    int capacity();

    int maxPayloadLength();

    /** Sets the shared state to CLOSED (unless fenced): further claims return {@link #CLOSED}. */
    void closeRing();

    boolean isFenced();

    /** What fenced the ring, where and by which pid; empty when not fenced. Allocates; not for the hot path. */
    String fenceReport();

    /** Called once in this process when this process fences the ring. Not thread-safe to change while in use. */
    void onCorruption(CorruptionListener listener);

    /** Counts this process's traffic into {@code counters}; null stops counting. */
    void bindCounters(RingCounters counters);

    /** The segment this ring lives in. */
    ShmSegment segment();

    /**
     * Releases this process's mapping of the segment (does not unlink it). A many-to-one ring's mapping is released
     * by the GC once the ring is unreachable ({@link ShmSegment}); do not use a ring after closing it.
     */
    @Override
    void close();
}
