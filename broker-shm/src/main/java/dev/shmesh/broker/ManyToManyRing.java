package dev.shmesh.broker;

import static dev.shmesh.broker.internal.RecordDescriptor.PADDING_TYPE;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_COMMIT;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_HEAD;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_RECORD_LENGTH;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_RECORD_TYPE;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_SLOT_SEQUENCE;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_TAIL;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_ACTIVE;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_CLOSED;
import static dev.shmesh.broker.internal.SlotDescriptor.HEADER_LENGTH;
import static dev.shmesh.broker.internal.SlotDescriptor.LENGTH_OFFSET;
import static dev.shmesh.broker.internal.SlotDescriptor.SEQUENCE_OFFSET;
import static dev.shmesh.broker.internal.SlotDescriptor.TYPE_OFFSET;

import dev.shmesh.broker.internal.MemberTableDescriptor;
import dev.shmesh.broker.internal.RingDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.broker.internal.SlotDescriptor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.function.LongPredicate;

/**
 * A many-to-many (MPMC) ring of fixed-size slots ({@link SlotDescriptor}) in its own shared-memory segment
 * ({@link RingDescriptor}): a bounded queue with a sequence word per slot, after Dmitry Vyukov's design.
 *
 * <p>A producer reads the tail {@code p}; if slot {@code p}'s sequence is {@code p} the slot is free and the
 * producer CASes the tail to {@code p + 1}, writes length, type and payload, then the sequence {@code p + 1}
 * (release). A consumer reads the head {@code p}; if slot {@code p}'s sequence is {@code p + 1} it CASes the
 * head to {@code p + 1}, hands the message over, then frees the slot with sequence {@code p + slots}
 * (release). Slots complete out of order: a slow producer or consumer holds up only its own slot's reuse.
 * Messages leave in tail order, but with several consumers each sees a subsequence and handlers run
 * concurrently — per-producer order across consumers is not guaranteed.
 *
 * <p>Producers and consumers that can die (other processes) register as mesh members ({@link #producer},
 * {@link #consumer}): each names the position it is about to take in its record of the ring's member table
 * ({@link MemberTableDescriptor}) before it CASes the tail or head. A consumer that dies inside {@code poll} —
 * between taking a position and freeing it — leaves the message in its slot, named by its record; a producer that
 * dies between {@code tryClaim} and {@code commit} leaves an unpublished slot that would stall every consumer.
 * {@link #releaseAbandoned} (the broker, told that the member is gone) hands the consumer's message to a rescuer and
 * frees the slot, and publishes the producer's claim as padding, so nothing queued is lost and the ring moves on.
 * Registered parties free and publish slots with a CAS, so a slot released under a member wrongly declared gone is
 * never released twice. Plain {@link #poll} and {@link #tryClaim} (no record) are for parties that live as long as
 * the ring.
 *
 * <p>The sequences are untrusted: a sequence that is impossible for the observed head/tail fences the ring.
 * Thread-safety: see {@link Ring}; any number of consumer threads and processes.
 */
public final class ManyToManyRing extends AbstractRing implements Ring {
    private final int slotLength;
    private final int slots;
    private final long slotMask;
    private final long membersOffset;
    private long claimsPublished;

    private ManyToManyRing(ShmSegment segment, int slots, int slotLength, int maxPayloadLength) {
        super(segment, slots * slotLength, maxPayloadLength);
        this.slotLength = slotLength;
        this.slots = slots;
        this.slotMask = slots - 1;
        this.membersOffset = SegmentHeaderDescriptor.LENGTH + MemberTableDescriptor.tableOffset(slots * slotLength);
    }

    /** Bytes a segment holding {@code slots} slots for payloads of up to {@code maxPayloadLength} needs. */
    public static long segmentLength(int slots, int maxPayloadLength) {
        return SegmentHeaderDescriptor.LENGTH
                + MemberTableDescriptor.tableOffset(slots * SlotDescriptor.slotLength(maxPayloadLength))
                + MemberTableDescriptor.LENGTH;
    }

    public static ManyToManyRing create(String mesh, String name, int slots, int maxPayloadLength)
            throws IOException {
        return create(ShmSegment.pathOf(mesh, name), slots, maxPayloadLength);
    }

    /**
     * Creates a segment file holding an empty ring of {@code slots} slots (a power of two, 2..2^20), each for a
     * payload of up to {@code maxPayloadLength} bytes (1..65536), and publishes it.
     */
    public static ManyToManyRing create(Path path, int slots, int maxPayloadLength) throws IOException {
        if (slots < 2 || slots > 1 << 20 || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("slots=" + slots + " must be a power of two in [2, 1048576]");
        }
        if (maxPayloadLength < 1 || maxPayloadLength > 1 << 16) {
            throw new IllegalArgumentException("maxPayloadLength=" + maxPayloadLength + " must be in [1, 65536]");
        }
        int slotLength = SlotDescriptor.slotLength(maxPayloadLength);
        ShmSegment segment = createPublished(path, SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING,
                segmentLength(slots, maxPayloadLength), new Config(slots * slotLength, maxPayloadLength, slotLength),
                m -> {
                    long base = SegmentHeaderDescriptor.LENGTH;
                    long data = base + RingDescriptor.DATA_OFFSET;
                    for (int i = 0; i < slots; i++) {
                        m.set(ValueLayout.JAVA_LONG, data + (long) i * slotLength + SEQUENCE_OFFSET, i);
                    }
                    for (int i = 0; i < MemberTableDescriptor.RECORDS; i++) {
                        m.set(ValueLayout.JAVA_LONG, base + MemberTableDescriptor.recordOffset(slots * slotLength, i)
                                + MemberTableDescriptor.CLAIM_OFFSET, MemberTableDescriptor.NO_CLAIM);
                    }
                });
        return new ManyToManyRing(segment, slots, slotLength, maxPayloadLength);
    }

    /** Opens the ring at {@code path} read-write and validates it. */
    public static ManyToManyRing open(Path path) throws IOException {
        return ShmSegment.open(path, SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING, false).attachOrClose(ManyToManyRing::attach);
    }

    /** Attaches to a published ring segment (e.g. from {@link ShmSegment#openFd}); validates its config. */
    public static ManyToManyRing attach(ShmSegment segment) throws ShmFormatException {
        Config config = readConfig(segment, SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING);
        int capacity = config.capacity();
        int maxPayload = config.maxPayloadLength();
        int slotLength = config.slotLength();
        boolean valid = maxPayload >= 1 && maxPayload <= 1 << 16
                && slotLength == SlotDescriptor.slotLength(maxPayload)
                && capacity > 0 && capacity % slotLength == 0
                && Integer.bitCount(capacity / slotLength) == 1 && capacity / slotLength >= 2
                && segment.length() == segmentLength(capacity / slotLength, maxPayload);
        if (!valid) {
            throw inconsistent(segment, config);
        }
        return new ManyToManyRing(segment, capacity / slotLength, slotLength, maxPayload);
    }

    /** Number of slots. */
    public int slots() {
        return slots;
    }

    @Override
    public int tryClaim(int type, int length) {
        long position = claim(type, length, -1);
        return position < 0 ? (int) position : (int) slotOffset(position) + HEADER_LENGTH;
    }

    /**
     * {@link #tryClaim}, returning the claimed position (or a negative sentinel); {@code claimOffset} is the caller's
     * producer record's claim word, or -1 for none.
     */
    private long claim(int type, int length, long claimOffset) {
        if (type <= 0) {
            throw new IllegalArgumentException("type=" + type + " must be positive");
        }
        if (length < 0) {
            throw new IllegalArgumentException("length=" + length + " must not be negative");
        }
        if (length > maxPayloadLength) {
            return TOO_LARGE;
        }
        int state = state();
        if (state != STATE_ACTIVE) {
            return sentinelFor(state);
        }
        long position = (long) LONG.getVolatile(memory, tailOffset);
        long slot;
        while (true) {
            if (position < 0) {
                // positions count from 0 and only grow: a negative tail is a broken peer's, and a position claimed
                // there would reach the caller as a sentinel that is none, leaving the slot claimed for good
                clearClaim(claimOffset);
                return fence(FENCE_BAD_TAIL, position);
            }
            slot = slotOffset(position);
            long sequence = (long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET);
            long difference = sequence - position;
            if (difference == 0) {
                if (claimOffset >= 0) {
                    // named before it is taken: if we die before commit, releaseAbandoned publishes it as padding
                    LONG.setVolatile(memory, claimOffset, position);
                }
                if (LONG.compareAndSet(memory, tailOffset, position, position + 1)) {
                    break;
                }
                position = (long) LONG.getVolatile(memory, tailOffset);
            } else if (difference < 0) {
                // previous lap's message still there (-slots + 1) or being consumed (-slots): full
                clearClaim(claimOffset);
                if (difference != -slots && difference != -slots + 1) {
                    return fence(FENCE_BAD_SLOT_SEQUENCE, position);
                }
                RingCounters c = counters;
                if (c != null) {
                    c.addBackPressure();
                }
                return BACK_PRESSURED;
            } else {
                // another producer took this position: the tail must have moved past it
                long tail = (long) LONG.getVolatile(memory, tailOffset);
                if (tail == position) {
                    clearClaim(claimOffset);
                    return fence(FENCE_BAD_SLOT_SEQUENCE, position);
                }
                position = tail;
            }
        }
        data.set(ValueLayout.JAVA_INT, slot + LENGTH_OFFSET, length);
        data.set(ValueLayout.JAVA_INT, slot + TYPE_OFFSET, type);
        return position;
    }

    @Override
    public void commit(int index) {
        publish(checkIndex(index), false);
    }

    @Override
    public void abort(int index) {
        publish(checkIndex(index), true);
    }

    private void clearClaim(long claimOffset) {
        if (claimOffset >= 0) {
            LONG.setRelease(memory, claimOffset, MemberTableDescriptor.NO_CLAIM);
        }
    }

    /**
     * A registered producer's commit or abort of the {@code position} it claimed (kept in its own memory: the record
     * in shared memory is only for the broker). False when the claim was published as padding by
     * {@link #releaseAbandoned} (the producer was declared gone): the message is dropped.
     */
    private boolean publish(long position, boolean abort, long claimOffset) {
        long slot = slotOffset(position);
        if (abort) {
            data.set(ValueLayout.JAVA_INT, slot + TYPE_OFFSET, PADDING_TYPE);
        }
        boolean published = LONG.compareAndSet(data, slot + SEQUENCE_OFFSET, position, position + 1);
        clearClaim(claimOffset);
        if (published) {
            published(abort);
        }
        return published;
    }

    /** After a slot's sequence was published: count it (unless aborted) and wake a sleeping consumer. */
    private void published(boolean abort) {
        RingCounters c = counters;
        if (c != null && !abort) {
            c.addEnqueued(1);
        }
        wakeIfSleeping();
    }

    private void publish(long slot, boolean abort) {
        // the claimed slot's sequence still holds the claimed position: nobody else writes it until we do
        long position = data.get(ValueLayout.JAVA_LONG, slot + SEQUENCE_OFFSET);
        if (slotOffset(position) != slot) {
            fence(FENCE_BAD_COMMIT, position);
            return;
        }
        if (abort) {
            data.set(ValueLayout.JAVA_INT, slot + TYPE_OFFSET, PADDING_TYPE);
        }
        LONG.setRelease(data, slot + SEQUENCE_OFFSET, position + 1);
        published(abort);
    }

    @Override
    public int offer(int type, MemorySegment source, long offset, int length) {
        int index = tryClaim(type, length);
        if (index >= 0) {
            try {
                MemorySegment.copy(source, offset, data, index, length);
            } catch (RuntimeException e) {
                abort(index); // a source that refuses the copy must not leave a claim that stalls consumers
                throw e;
            }
            commit(index);
        }
        return index;
    }

    @Override
    public int poll(MessageHandler handler, int limit) {
        return poll(handler, limit, -1);
    }

    /** {@link #poll}; {@code claimOffset} is the caller's consumer record's claim word, or -1 for none. */
    private int poll(MessageHandler handler, int limit, long claimOffset) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be positive");
        }
        int state = state();
        if (state != STATE_ACTIVE && state != STATE_CLOSED) {
            return sentinelFor(state);
        }
        int count = 0;
        int result = 0;
        try {
            poll:
            while (count < limit) {
                long position = (long) LONG.getVolatile(memory, headOffset);
                long slot;
                while (true) {
                    if (position < 0) {
                        result = fence(FENCE_BAD_HEAD, position); // positions count from 0 and only grow
                        break poll;
                    }
                    slot = slotOffset(position);
                    long sequence = (long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET);
                    long difference = sequence - (position + 1);
                    if (difference == 0) {
                        if (claimOffset >= 0) {
                            // named before it is taken: if we die holding it, releaseAbandoned finds it here
                            LONG.setVolatile(memory, claimOffset, position);
                        }
                        if (LONG.compareAndSet(memory, headOffset, position, position + 1)) {
                            break;
                        }
                        position = (long) LONG.getVolatile(memory, headOffset);
                    } else if (difference < 0) {
                        // not yet published (-1), or the previous lap's consumer not done freeing it (-slots)
                        if (difference != -1 && difference != -slots) {
                            result = fence(FENCE_BAD_SLOT_SEQUENCE, position);
                        }
                        break poll;
                    } else {
                        long head = (long) LONG.getVolatile(memory, headOffset);
                        if (head == position) {
                            result = fence(FENCE_BAD_SLOT_SEQUENCE, position);
                            break poll;
                        }
                        position = head;
                    }
                }
                int length = data.get(ValueLayout.JAVA_INT, slot + LENGTH_OFFSET);
                int type = data.get(ValueLayout.JAVA_INT, slot + TYPE_OFFSET);
                if (length < 0 || length > maxPayloadLength) {
                    result = fence(FENCE_BAD_RECORD_LENGTH, position);
                    break;
                }
                if (type <= 0 && type != PADDING_TYPE) {
                    result = fence(FENCE_BAD_RECORD_TYPE, position);
                    break;
                }
                try {
                    if (type != PADDING_TYPE) {
                        count++;
                        handler.onMessage(type, data, slot + HEADER_LENGTH, length);
                    }
                } finally {
                    // a CAS, not a store: a slot releaseAbandoned already freed (we were declared gone) may be
                    // a producer's again
                    LONG.compareAndSet(data, slot + SEQUENCE_OFFSET, position + 1, position + slots);
                }
            }
        } finally {
            clearClaim(claimOffset);
            RingCounters c = counters;
            if (c != null && count > 0) {
                c.addDequeued(count);
                c.setDepth((long) LONG.getVolatile(memory, tailOffset) - (long) LONG.getVolatile(memory, headOffset));
                c.setConsumerLag(c.enqueued() - c.dequeued());
            }
        }
        if (result != 0) {
            return result;
        }
        if (count == 0 && state == STATE_CLOSED && !hasWork()) {
            return CLOSED;
        }
        return count;
    }

    /**
     * Registers a consumer for mesh member {@code member} (&gt; 0) in a free record of the ring's member table.
     * Poll through it when the consumer may die while the ring lives on; {@link Consumer#close()} frees the
     * record, and so does {@link #releaseAbandoned} once the member is gone.
     *
     * @throws IllegalStateException when all {@value MemberTableDescriptor#RECORDS} records are taken
     */
    public Consumer consumer(long member) {
        return new Consumer(member, register(member, MemberTableDescriptor.ROLE_CONSUMER));
    }

    /** Registers a producer for mesh member {@code member}; see {@link #consumer} and {@link Producer}. */
    public Producer producer(long member) {
        return new Producer(member, register(member, MemberTableDescriptor.ROLE_PRODUCER));
    }

    private long register(long member, int role) {
        if (member <= 0) {
            throw new IllegalArgumentException("member=" + member + " must be positive");
        }
        for (int i = 0; i < MemberTableDescriptor.RECORDS; i++) {
            long record = recordOffset(i);
            if ((long) LONG.getAcquire(memory, record + MemberTableDescriptor.MEMBER_OFFSET) == 0
                    && LONG.compareAndSet(memory, record + MemberTableDescriptor.MEMBER_OFFSET, 0L, member)) {
                LONG.setVolatile(memory, record + MemberTableDescriptor.CLAIM_OFFSET, MemberTableDescriptor.NO_CLAIM);
                INT.setRelease(memory, record + MemberTableDescriptor.ROLE_OFFSET, role);
                return record;
            }
        }
        throw new IllegalStateException("all " + MemberTableDescriptor.RECORDS + " member records of " + this
                + " are taken: close producers and consumers that are done, or let the broker release those of"
                + " gone members");
    }

    /** Frees a record: only the member word, by CAS, so a record someone else registered since is left alone. */
    private void unregister(long record, long member) {
        LONG.compareAndSet(memory, record + MemberTableDescriptor.MEMBER_OFFSET, member, 0L);
    }

    /** What a registered producer or consumer is: a mesh member id and its record in the member table. */
    public abstract sealed class Registration implements AutoCloseable permits Consumer, Producer {
        private final long member;
        final long record;
        private boolean closed;

        private Registration(long member, long record) {
            this.member = member;
            this.record = record;
        }

        public long member() {
            return member;
        }

        public ManyToManyRing ring() {
            return ManyToManyRing.this;
        }

        final void checkOpen() {
            if (closed) {
                throw new IllegalStateException(getClass().getSimpleName() + " of member " + member + " is closed");
            }
        }

        /** What to settle before the record is freed. */
        void beforeClose() {}

        /** Frees the record; not while this party polls or claims in another thread. */
        @Override
        public final void close() {
            if (!closed) {
                closed = true;
                beforeClose();
                unregister(record, member);
            }
        }
    }

    /** A registered consumer of this ring: {@link #poll} records what it takes (see the class comment). */
    public final class Consumer extends Registration implements MessageSource {
        private Consumer(long member, long record) {
            super(member, record);
        }

        /** {@link ManyToManyRing#poll}, recording each position before taking it. */
        @Override
        public int poll(MessageHandler handler, int limit) {
            checkOpen();
            return ManyToManyRing.this.poll(handler, limit, record + MemberTableDescriptor.CLAIM_OFFSET);
        }

        @Override
        public int maxPayloadLength() {
            return maxPayloadLength;
        }
    }

    /**
     * A registered producer of this ring: {@link #tryClaim} records the position it claims until {@link #commit}
     * or {@link #abort}. One outstanding claim at a time, from one thread at a time (use one producer per thread).
     */
    public final class Producer extends Registration implements MessageSink {
        private final long claim;
        /** The outstanding claim's position, or -1; private memory, unlike the record's claim word. */
        private long position = -1;
        private long dropped;

        private Producer(long member, long record) {
            super(member, record);
            this.claim = record + MemberTableDescriptor.CLAIM_OFFSET;
        }

        /** {@link ManyToManyRing#tryClaim}, recorded. */
        public int tryClaim(int type, int length) {
            checkOpen();
            if (position >= 0) {
                throw new IllegalStateException("producer of member " + member() + " already holds a claim: commit"
                        + " or abort it first");
            }
            long claimed = claim(type, length, claim);
            if (claimed < 0) {
                return (int) claimed;
            }
            position = claimed;
            return (int) slotOffset(claimed) + HEADER_LENGTH;
        }

        /** The outstanding claim, which {@code index} must be; it is over after this call. */
        private long take(int index) {
            long p = position;
            if (p < 0 || slotOffset(p) != checkIndex(index)) {
                throw new IllegalArgumentException("index=" + index + " is not this producer's outstanding claim");
            }
            position = -1;
            return p;
        }

        /**
         * Publishes the claim. False only when this producer was declared gone while alive and its claim was
         * published as padding meanwhile: the message is dropped (counted in {@link #dropped}).
         */
        public boolean commit(int index) {
            boolean published = publish(take(index), false, claim);
            if (!published) {
                dropped++;
            }
            return published;
        }

        public void abort(int index) {
            publish(take(index), true, claim);
        }

        /** {@link ManyToManyRing#offer}, recorded. */
        @Override
        public int offer(int type, MemorySegment source, long offset, int length) {
            int index = tryClaim(type, length);
            if (index >= 0) {
                try {
                    MemorySegment.copy(source, offset, data, index, length);
                } catch (RuntimeException e) {
                    abort(index);
                    throw e;
                }
                if (!commit(index)) {
                    return BACK_PRESSURED;
                }
            }
            return index;
        }

        /** The ring's data area; claimed indices point into it. */
        public MemorySegment buffer() {
            return data;
        }

        /** Messages lost because their claim was released under this producer (see {@link #commit}). */
        public long dropped() {
            return dropped;
        }

        /** An outstanding claim is aborted before the record is freed. */
        @Override
        void beforeClose() {
            if (position >= 0) {
                publish(position, true, claim);
                position = -1;
            }
        }
    }

    /** Takes a message off a gone consumer's slot; false to leave it there and try again on the next call. */
    @FunctionalInterface
    public interface Rescuer {
        boolean rescue(int type, MemorySegment buffer, long offset, int length);
    }

    /**
     * The broker's side of a member's death. For every record whose member {@code gone} says is gone: a position
     * it took as a consumer and did not free is handed to {@code rescuer} (e.g. {@link LeaseTable#adopt}, which
     * makes it an expired lease to redeliver) and then freed; a position it claimed as a producer and did not
     * publish is published as padding (consumers skip it; the message was never sent). Then the record is freed.
     * A position that a live member's record of the same role also names is left for a later call (that member
     * may be the one that took it). Padding a gone consumer held is freed without a rescue. Call it from one
     * thread; allocation-free.
     *
     * @return positions freed or published, or {@link #FENCED} when a gone consumer's slot holds an impossible
     *     header (the ring is fenced)
     */
    public int releaseAbandoned(LongPredicate gone, Rescuer rescuer) {
        int released = 0;
        for (int i = 0; i < MemberTableDescriptor.RECORDS; i++) {
            long record = recordOffset(i);
            long member = (long) LONG.getAcquire(memory, record + MemberTableDescriptor.MEMBER_OFFSET);
            if (member == 0 || !gone.test(member)) {
                continue;
            }
            int role = (int) INT.getAcquire(memory, record + MemberTableDescriptor.ROLE_OFFSET);
            long claim = (long) LONG.getAcquire(memory, record + MemberTableDescriptor.CLAIM_OFFSET);
            int r = role == MemberTableDescriptor.ROLE_CONSUMER ? releaseTaken(claim, gone, rescuer)
                    : role == MemberTableDescriptor.ROLE_PRODUCER ? publishClaimed(claim, gone)
                    : 0; // died registering
            if (r == FENCED) {
                return FENCED;
            }
            if (r < 0) {
                continue; // not now: look again on the next call
            }
            released += r;
            unregister(record, member);
        }
        return released;
    }

    /** A gone consumer's claim: 1 rescued and freed, 0 nothing to do, -1 retry later, or FENCED. */
    private int releaseTaken(long claim, LongPredicate gone, Rescuer rescuer) {
        if (claim < 0 || claim >= (long) LONG.getVolatile(memory, headOffset)) {
            return 0; // never took it
        }
        long slot = slotOffset(claim);
        if ((long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET) != claim + 1) {
            return 0; // freed already
        }
        if (claimedByLive(claim, MemberTableDescriptor.ROLE_CONSUMER, gone)) {
            return -1; // maybe theirs
        }
        // A live consumer's record names a position from before its head CAS until after it frees it, and the
        // head is past this one: if no live record named it just now and it is still not freed, its holder is
        // dead and nobody can free or reuse the slot while we copy it.
        if ((long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET) != claim + 1) {
            return 0;
        }
        int length = data.get(ValueLayout.JAVA_INT, slot + LENGTH_OFFSET);
        int type = data.get(ValueLayout.JAVA_INT, slot + TYPE_OFFSET);
        if (length < 0 || length > maxPayloadLength) {
            return fence(FENCE_BAD_RECORD_LENGTH, claim);
        }
        if (type <= 0 && type != PADDING_TYPE) {
            return fence(FENCE_BAD_RECORD_TYPE, claim);
        }
        if (type != PADDING_TYPE && !rescuer.rescue(type, data, slot + HEADER_LENGTH, length)) {
            return -1;
        }
        return LONG.compareAndSet(data, slot + SEQUENCE_OFFSET, claim + 1, claim + slots) ? 1 : 0;
    }

    /** A gone producer's claim: 1 published as padding, 0 nothing to do, -1 retry later. */
    private int publishClaimed(long claim, LongPredicate gone) {
        if (claim < 0 || claim >= (long) LONG.getVolatile(memory, tailOffset)) {
            return 0; // never claimed it
        }
        long slot = slotOffset(claim);
        if ((long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET) != claim) {
            return 0; // published already
        }
        if (claimedByLive(claim, MemberTableDescriptor.ROLE_PRODUCER, gone)) {
            return -1;
        }
        if ((long) LONG.getAcquire(data, slot + SEQUENCE_OFFSET) != claim) {
            return 0; // a live producer published it after all (see releaseTaken)
        }
        data.set(ValueLayout.JAVA_INT, slot + LENGTH_OFFSET, 0);
        data.set(ValueLayout.JAVA_INT, slot + TYPE_OFFSET, PADDING_TYPE);
        if (!LONG.compareAndSet(data, slot + SEQUENCE_OFFSET, claim, claim + 1)) {
            return 0;
        }
        claimsPublished++;
        wakeIfSleeping();
        return 1;
    }

    private boolean claimedByLive(long position, int role, LongPredicate gone) {
        for (int i = 0; i < MemberTableDescriptor.RECORDS; i++) {
            long record = recordOffset(i);
            long member = (long) LONG.getAcquire(memory, record + MemberTableDescriptor.MEMBER_OFFSET);
            if (member != 0 && !gone.test(member)
                    && (int) INT.getAcquire(memory, record + MemberTableDescriptor.ROLE_OFFSET) == role
                    && (long) LONG.getAcquire(memory, record + MemberTableDescriptor.CLAIM_OFFSET) == position) {
                return true;
            }
        }
        return false;
    }

    /** Gone producers' claims that {@link #releaseAbandoned} published as padding, through this instance. */
    public long claimsPublished() {
        return claimsPublished;
    }

    /** Registered consumers. */
    public int consumers() {
        return registered(MemberTableDescriptor.ROLE_CONSUMER);
    }

    /** Registered producers. */
    public int producers() {
        return registered(MemberTableDescriptor.ROLE_PRODUCER);
    }

    private int registered(int role) {
        int n = 0;
        for (int i = 0; i < MemberTableDescriptor.RECORDS; i++) {
            long record = recordOffset(i);
            if ((long) LONG.getAcquire(memory, record + MemberTableDescriptor.MEMBER_OFFSET) != 0
                    && (int) INT.getAcquire(memory, record + MemberTableDescriptor.ROLE_OFFSET) == role) {
                n++;
            }
        }
        return n;
    }

    private long recordOffset(int i) {
        return membersOffset + (long) i * MemberTableDescriptor.RECORD_LENGTH;
    }

    /**
     * Positions a consumer has taken (the head moved past them) but not released yet: some consumer is
     * inside {@link #poll} for them, or died there ({@link #releaseAbandoned} frees those). Such a slot stalls
     * producers one lap later. Read-only and racy by nature: a diagnostic for operators and tests.
     */
    public int claimedUnreleased() {
        long head = (long) LONG.getVolatile(memory, headOffset);
        int n = 0;
        for (long q = Math.max(0, head - slots); q < head; q++) {
            if ((long) LONG.getAcquire(data, slotOffset(q) + SEQUENCE_OFFSET) == q + 1) {
                n++;
            }
        }
        return n;
    }

    @Override
    boolean hasWork() {
        return (long) LONG.getVolatile(memory, tailOffset) != (long) LONG.getVolatile(memory, headOffset);
    }

    @Override
    int wakeCount() {
        return Integer.MAX_VALUE;
    }

    private long slotOffset(long position) {
        return (position & slotMask) * slotLength;
    }

    private long checkIndex(int index) {
        long slot = (long) index - HEADER_LENGTH;
        if (slot < 0 || slot >= capacity || slot % slotLength != 0) {
            throw new IllegalArgumentException("index=" + index + " was not returned by tryClaim");
        }
        return slot;
    }

    @Override
    public String toString() {
        return "ManyToManyRing[" + segment.path() + ", slots=" + slots + ", maxPayloadLength=" + maxPayloadLength
                + "]";
    }
}
