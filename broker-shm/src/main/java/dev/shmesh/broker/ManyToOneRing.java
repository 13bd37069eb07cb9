package dev.shmesh.broker;

import static dev.shmesh.broker.internal.RecordDescriptor.HEADER_LENGTH;
import static dev.shmesh.broker.internal.RecordDescriptor.LENGTH_OFFSET;
import static dev.shmesh.broker.internal.RecordDescriptor.PADDING_TYPE;
import static dev.shmesh.broker.internal.RecordDescriptor.TYPE_OFFSET;
import static dev.shmesh.broker.internal.RecordDescriptor.align;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_COMMIT;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_HEAD;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_RECORD_LENGTH;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_RECORD_TYPE;
import static dev.shmesh.broker.internal.RingDescriptor.FENCE_BAD_TAIL;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_ACTIVE;
import static dev.shmesh.broker.internal.RingDescriptor.STATE_CLOSED;

import dev.shmesh.broker.internal.RecordDescriptor;
import dev.shmesh.broker.internal.RingDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.file.Path;

/**
 * A many-to-one (MPSC) ring of variable-length records ({@link RecordDescriptor}) in its own shared-memory
 * segment ({@link RingDescriptor}).
 *
 * <p>Producers CAS the tail forward by the aligned record length (plus a padding record when the record would
 * not fit before the end of the data area), write the header with a negative length, the payload, and then the
 * positive length with release semantics. Producers check free space against a cached head and re-read the
 * real head only when the cache says full. The one consumer reads records from its head while their length is
 * positive (acquire), hands them to the handler, zeroes the consumed bytes and moves the head (release).
 *
 * <p>The hot paths (claim, offer, commit, abort, poll) reach the control block and the data area through
 * {@link #ADDRESS_SPACE}, with indices they have bounds-checked themselves; the rare paths, and every caller, use
 * the checked segments ({@link #buffer()}).
 *
 * <p>Thread-safety: see {@link Ring}; one consumer thread at a time (across all processes).
 */
public final class ManyToOneRing extends AbstractRing implements Ring {
    private final int mask;
    /** Control-block fields in {@link #ADDRESS_SPACE}. */
    private final long tailAddress;
    private final long headCacheAddress;
    private final long headAddress;
    private final long sleepersAddress;

    private ManyToOneRing(ShmSegment segment, int capacity, int maxPayloadLength) {
        super(segment, capacity, maxPayloadLength);
        this.mask = capacity - 1;
        long base = memory.address();
        this.tailAddress = base + tailOffset;
        this.headCacheAddress = base + headCacheOffset;
        this.headAddress = base + headOffset;
        this.sleepersAddress = base + sleepersOffset;
    }

    /** Bytes a segment holding a ring with {@code capacity} bytes of data needs. */
    public static long segmentLength(int capacity) {
        return SegmentHeaderDescriptor.LENGTH + RingDescriptor.regionLength(capacity);
    }

    /** Creates and publishes {@code /dev/shm/shmesh-<mesh>-<name>}; see {@link #create(Path, int)}. */
    public static ManyToOneRing create(String mesh, String name, int capacity) throws IOException {
        return create(ShmSegment.pathOf(mesh, name), capacity);
    }

    /**
     * Creates a segment file holding an empty ring of {@code capacity} bytes (a power of two, at least
     * {@link RingDescriptor#MIN_CAPACITY}) and publishes it. Max payload: {@code capacity / 8 - 8} bytes.
     */
    public static ManyToOneRing create(Path path, int capacity) throws IOException {
        if (!RingDescriptor.isValidCapacity(capacity)) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be a power of two in ["
                    + RingDescriptor.MIN_CAPACITY + ", " + RingDescriptor.MAX_CAPACITY + "]");
        }
        int maxPayload = RecordDescriptor.maxPayloadLength(capacity);
        ShmSegment segment = createPublished(path, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING,
                segmentLength(capacity), new Config(capacity, maxPayload, 0), m -> { });
        return new ManyToOneRing(segment, capacity, maxPayload);
    }

    /**
     * Creates an empty ring of {@code capacity} bytes in an anonymous sealed memfd ({@link
     * ShmSegment#createAnonymous}): for a ring between two processes that no third one may open. Hand
     * {@code segment().anonymousFd()} to the peer, which attaches with {@link ShmSegment#openSealedFd}.
     */
    public static ManyToOneRing createAnonymous(String name, int capacity) throws IOException {
        if (!RingDescriptor.isValidCapacity(capacity)) {
            throw new IllegalArgumentException("capacity=" + capacity + " must be a power of two in ["
                    + RingDescriptor.MIN_CAPACITY + ", " + RingDescriptor.MAX_CAPACITY + "]");
        }
        int maxPayload = RecordDescriptor.maxPayloadLength(capacity);
        ShmSegment segment = publishRing(ShmSegment.createAnonymous(name, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING,
                segmentLength(capacity)), new Config(capacity, maxPayload, 0), m -> { });
        return new ManyToOneRing(segment, capacity, maxPayload);
    }

    /** Opens the ring at {@code path} read-write and validates it. */
    public static ManyToOneRing open(Path path) throws IOException {
        return ShmSegment.open(path, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING, false).attachOrClose(ManyToOneRing::attach);
    }

    /** Attaches to a published ring segment (e.g. from {@link ShmSegment#openFd}); validates its config. */
    public static ManyToOneRing attach(ShmSegment segment) throws ShmFormatException {
        if (segment.isReadOnly()) {
            // the hot paths write without the segment's checks (ADDRESS_SPACE): a read-only mapping would SIGSEGV
            throw new IllegalArgumentException(segment + " is mapped read-only; open it read-write to use it as a ring");
        }
        Config config = readConfig(segment, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING);
        int capacity = config.capacity();
        int maxPayload = config.maxPayloadLength();
        if (!RingDescriptor.isValidCapacity(capacity) || segment.length() != segmentLength(capacity)
                || maxPayload != RecordDescriptor.maxPayloadLength(capacity) || config.slotLength() != 0) {
            throw inconsistent(segment, config);
        }
        return new ManyToOneRing(segment, capacity, maxPayload);
    }

    @Override
    public int tryClaim(int type, int length) {
        try {
            int record = claim(type, length);
            if (record < 0) {
                return record;
            }
            // type and the negative ("being written") length in one 8-byte store
            assert inData(record, HEADER_LENGTH);
            ADDRESS_SPACE.set(ValueLayout.JAVA_LONG_UNALIGNED, dataAddress + record,
                    RecordDescriptor.header(-(HEADER_LENGTH + length), type));
            return record + HEADER_LENGTH;
        } finally {
            Reference.reachabilityFence(this); // the mapping outlives the raw accesses (ADDRESS_SPACE)
        }
    }

    /**
     * Checks the arguments and moves the tail past the record (and the padding before a wrap). Returns the
     * record's offset in the data area, or a sentinel.
     *
     * <p>This is the producer's hot path and is kept to what it must do: the head cache (a line that only changes
     * when the cache runs out), the tail (CAS), and nothing else shared. Everything that only a full cache, a wrap,
     * a closed or fenced ring or a broken peer needs sits in {@link #refreshHead} and {@link #writePadding}: closing
     * and fencing poison the head cache ({@link #poisonHeadCache}), which sends every producer there.
     */
    private int claim(int type, int length) {
        if (type <= 0 || length < 0) {
            throw badClaim(type, length);
        }
        if (length > maxPayloadLength) {
            return TOO_LARGE;
        }
        final int required = align(HEADER_LENGTH + length);
        final int capacity = this.capacity;
        long head = (long) LONG.getVolatile(ADDRESS_SPACE, headCacheAddress);
        while (true) {
            long tail = (long) LONG.getVolatile(ADDRESS_SPACE, tailAddress);
            long used = tail - head;
            // the cache says full, or the tail or the cache look wrong: the slow path validates and refreshes
            if (required > capacity - used || used < 0 || (tail & (RecordDescriptor.ALIGNMENT - 1)) != 0) {
                head = refreshHead(tail, required);
                if (head < 0) {
                    if (head == RETRY) {
                        head = (long) LONG.getVolatile(ADDRESS_SPACE, headCacheAddress);
                        continue;
                    }
                    return (int) head;
                }
            }
            int index = (int) tail & mask;
            int toEnd = capacity - index;
            int padding = 0;
            if (required > toEnd) {
                // the record goes to the start of the data area; the padding before it needs room too
                padding = toEnd;
                if (required + padding > capacity - (tail - head)) {
                    head = refreshHead(tail, required + padding);
                    if (head < 0) {
                        if (head == RETRY) {
                            head = (long) LONG.getVolatile(ADDRESS_SPACE, headCacheAddress);
                            continue;
                        }
                        return (int) head;
                    }
                }
            }
            if (LONG.compareAndSet(ADDRESS_SPACE, tailAddress, tail, tail + padding + required)) {
                if (padding != 0) {
                    writePadding(index, padding);
                    return 0;
                }
                return index;
            }
        }
    }

    private static final long RETRY = Long.MIN_VALUE;

    /** Up to this many consumed bytes, {@link #release} zeroes with a loop rather than {@code fill}. */
    private static final int ZERO_LOOP_LIMIT = 4096;

    /**
     * The cached head says "no room" or the tail looks wrong: validate the tail, read the consumer's head and
     * refresh the cache. Returns the head, {@link #RETRY} (our tail was stale), or a sentinel.
     */
    private long refreshHead(long tail, int needed) {
        int state = state();
        if (state != STATE_ACTIVE) {
            return sentinelFor(state);
        }
        if ((tail & (RecordDescriptor.ALIGNMENT - 1)) != 0) {
            return fence(FENCE_BAD_TAIL, tail); // only a broken peer writes an unaligned tail
        }
        // the cache may be stale or behind another producer's newer copy: ask the consumer's head
        long head = (long) LONG.getVolatile(memory, headOffset);
        long used = tail - head;
        // a negative head would also read as a sentinel to the caller
        if (head < 0 || used < 0 || used > capacity) {
            if (tail != (long) LONG.getVolatile(memory, tailOffset)) {
                return RETRY; // the tail moved under us; ours was just old
            }
            return fence(FENCE_BAD_HEAD, head);
        }
        if (needed > capacity - used) {
            RingCounters c = counters;
            if (c != null) {
                c.addBackPressure();
            }
            return BACK_PRESSURED;
        }
        LONG.setVolatile(memory, headCacheOffset, head);
        state = state();
        if (state != STATE_ACTIVE) {
            poisonHeadCache(); // closed or fenced while we refreshed: our copy must not unpoison it
            return sentinelFor(state);
        }
        return head;
    }

    /** {@code index} is the tail's index and {@code padding} what is left to the end: the header fits. */
    private void writePadding(int index, int padding) {
        assert inData(index, HEADER_LENGTH) && inData(index, padding);
        long record = dataAddress + index;
        ADDRESS_SPACE.set(ValueLayout.JAVA_INT_UNALIGNED, record + TYPE_OFFSET, PADDING_TYPE);
        INT.setRelease(ADDRESS_SPACE, record + LENGTH_OFFSET, padding);
    }

    /** Whether {@code [index, index + length)} lies in the data area: asserted before every raw data access. */
    private boolean inData(long index, long length) {
        return index >= 0 && length >= 0 && index + length <= capacity;
    }

    private static IllegalArgumentException badClaim(int type, int length) {
        return new IllegalArgumentException(type <= 0
                ? "type=" + type + " must be positive"
                : "length=" + length + " must not be negative");
    }

    /**
     * {@inheritDoc}
     *
     * <p>A claim that {@link #unblock()} revoked is not published: the message is dropped.
     */
    @Override
    public void commit(int index) {
        try {
            int record = checkIndex(index);
            int length = claimedLength(record);
            if (length > 0) {
                publish(record, length);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The length of the claimed record at {@code record} (from {@link #checkIndex}), or 0 when there is nothing to
     * publish or abort: {@link #unblock()} revoked the claim (and maybe the record was consumed since), or the header
     * no longer holds a claim's length, which fences the ring.
     */
    private int claimedLength(int record) {
        assert inData(record, HEADER_LENGTH);
        int stored = ADDRESS_SPACE.get(ValueLayout.JAVA_INT_UNALIGNED, dataAddress + record + LENGTH_OFFSET);
        if (stored >= 0) {
            return 0; // revoked: the consumer gave up on this claim
        }
        int length = -stored;
        if (length < HEADER_LENGTH || length > HEADER_LENGTH + maxPayloadLength) {
            fence(FENCE_BAD_COMMIT, record);
            return 0;
        }
        return length;
    }

    /** Stores the positive length (release): the consumer may take the record from here on. */
    private void publish(int record, int recordLength) {
        assert inData(record, HEADER_LENGTH);
        INT.setRelease(ADDRESS_SPACE, dataAddress + record + LENGTH_OFFSET, recordLength);
        RingCounters c = counters;
        if (c != null) {
            c.addEnqueued(1);
        }
        if ((int) INT.getVolatile(ADDRESS_SPACE, sleepersAddress) > 0) {
            wakeSleepers();
        }
    }

    @Override
    public void abort(int index) {
        try {
            int record = checkIndex(index);
            int length = claimedLength(record);
            if (length <= 0) {
                return;
            }
            ADDRESS_SPACE.set(ValueLayout.JAVA_INT_UNALIGNED, dataAddress + record + TYPE_OFFSET, PADDING_TYPE);
            INT.setRelease(ADDRESS_SPACE, dataAddress + record + LENGTH_OFFSET, length);
            wakeIfSleeping();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Claim, copy and commit in one method, without going through {@link #tryClaim} and {@link #commit}: the
     * commit knows the length it wrote, so it compares it with one load instead of validating a caller's
     * index. The length is still read back, because {@link #unblock()} may have revoked the claim; anything but our
     * own length goes to {@link #commit}, which drops or fences as documented there.
     */
    @Override
    public int offer(int type, MemorySegment source, long offset, int length) {
        try {
            int record = claim(type, length);
            if (record < 0) {
                return record;
            }
            int recordLength = HEADER_LENGTH + length;
            assert inData(record, recordLength); // claim() checked that the record fits before the end
            long at = dataAddress + record;
            ADDRESS_SPACE.set(ValueLayout.JAVA_LONG_UNALIGNED, at, RecordDescriptor.header(-recordLength, type));
            copy(source, offset, record, length);
            // comparing the length alone measured faster than comparing the whole header
            if (ADDRESS_SPACE.get(ValueLayout.JAVA_INT_UNALIGNED, at + LENGTH_OFFSET) == -recordLength) {
                publish(record, recordLength);
            } else {
                commit(record + HEADER_LENGTH);
            }
            return record + HEADER_LENGTH;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Copies the payload into a claimed record; a source that refuses the copy (out of bounds, closed) aborts the
     * claim before the exception goes to the caller, so the consumer does not stall at it.
     */
    private void copy(MemorySegment source, long offset, int record, int length) {
        try {
            MemorySegment.copy(source, offset, ADDRESS_SPACE, dataAddress + record + HEADER_LENGTH, length);
        } catch (RuntimeException e) {
            abort(record + HEADER_LENGTH);
            throw e;
        }
    }

    @Override
    public int poll(MessageHandler handler, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be positive");
        }
        int state = state();
        if (state != STATE_ACTIVE && state != STATE_CLOSED) {
            return sentinelFor(state);
        }
        final long head = (long) LONG.getAcquire(ADDRESS_SPACE, headAddress);
        if ((head & (RecordDescriptor.ALIGNMENT - 1)) != 0) {
            return fence(FENCE_BAD_HEAD, head);
        }
        final int headIndex = (int) head & mask;
        final int contiguous = capacity - headIndex;
        int bytes = 0;
        int count = 0;
        int result = 0;
        try {
            while (bytes < contiguous && count < limit) {
                int record = headIndex + bytes; // aligned and before the end: the 8-byte header is inside
                assert inData(record, HEADER_LENGTH);
                long header = (long) LONG.getAcquire(ADDRESS_SPACE, dataAddress + record);
                int length = RecordDescriptor.length(header);
                if (length <= 0) {
                    break; // nothing published here yet (0) or claimed and being written (negative)
                }
                if (length < HEADER_LENGTH || length > contiguous - bytes) {
                    result = fence(FENCE_BAD_RECORD_LENGTH, head + bytes);
                    break;
                }
                int type = RecordDescriptor.type(header);
                if (type == PADDING_TYPE) {
                    bytes += align(length);
                    continue;
                }
                if (type <= 0) {
                    result = fence(FENCE_BAD_RECORD_TYPE, head + bytes);
                    break;
                }
                if (length - HEADER_LENGTH > maxPayloadLength) {
                    result = fence(FENCE_BAD_RECORD_LENGTH, head + bytes);
                    break;
                }
                bytes += align(length);
                count++;
                handler.onMessage(type, data, record + HEADER_LENGTH, length - HEADER_LENGTH);
            }
        } finally {
            if (bytes > 0) {
                release(head, headIndex, bytes, count);
            }
            Reference.reachabilityFence(this);
        }
        if (result != 0) {
            return result;
        }
        if (count == 0 && state == STATE_CLOSED && !hasWork()) {
            return CLOSED;
        }
        return count;
    }

    /** Frees what a poll consumed and moves the head. */
    private void release(long head, int headIndex, int bytes, int count) {
        // producers read 0 as "not yet published": every 8-byte boundary must be zero again
        if (bytes <= ZERO_LOOP_LIMIT) {
            // the usual batch when the consumer keeps up: plain 8-byte stores, no slice and no call into a stub;
            // poll consumed whole records, all before the end of the data area
            assert inData(headIndex, bytes);
            long start = dataAddress + headIndex;
            for (int i = 0; i < bytes; i += RecordDescriptor.ALIGNMENT) {
                ADDRESS_SPACE.set(ValueLayout.JAVA_LONG_UNALIGNED, start + i, 0L);
            }
        } else {
            data.asSlice(headIndex, bytes).fill((byte) 0);
        }
        LONG.setRelease(ADDRESS_SPACE, headAddress, head + bytes);
        RingCounters c = counters;
        if (c != null) {
            long tail = (long) LONG.getVolatile(memory, tailOffset);
            c.addDequeued(count);
            c.setDepth(tail - head - bytes);
            c.setConsumerLag(c.enqueued() - c.dequeued());
        }
    }

    /**
     * Consumer side: if the record at the head was claimed but never committed — its producer died or hangs between
     * {@link #tryClaim} and {@link #commit} — turns it into padding (one CAS on its header) so that {@link #poll}
     * passes it. Call it only after the head has not moved, with work pending, for far longer than any live
     * producer takes from claim to commit (think seconds): such a producer's late commit is then dropped, and in a
     * narrow race (revoked, consumed and re-zeroed between its read and its store) fences the ring. A producer that
     * died after moving the tail but before writing the header (a few instructions) is not unblocked.
     *
     * @return whether a record was unblocked
     */
    public boolean unblock() {
        return revokeHeadClaim(true);
    }

    /**
     * Consumer side: whether the record at the head is claimed and not yet committed (what {@link #unblock()}
     * would revoke). The head moves only when this consumer polls something, so two observations with no progress
     * between them see the same record.
     */
    public boolean headClaimedUncommitted() {
        return revokeHeadClaim(false);
    }

    private boolean revokeHeadClaim(boolean revoke) {
        int state = state();
        if (state != STATE_ACTIVE && state != STATE_CLOSED) {
            sentinelFor(state);
            return false;
        }
        long head = (long) LONG.getAcquire(memory, headOffset);
        if ((head & (RecordDescriptor.ALIGNMENT - 1)) != 0) {
            fence(FENCE_BAD_HEAD, head);
            return false;
        }
        if ((long) LONG.getVolatile(memory, tailOffset) == head) {
            return false;
        }
        int index = (int) head & mask;
        long header = (long) LONG.getVolatile(data, (long) index);
        int length = RecordDescriptor.length(header);
        if (length >= 0) {
            return false; // published (poll will take it) or header not written yet (not handled)
        }
        int recordLength = -length;
        if (recordLength < HEADER_LENGTH || recordLength > HEADER_LENGTH + maxPayloadLength
                || align(recordLength) > capacity - index) {
            fence(FENCE_BAD_RECORD_LENGTH, head);
            return false;
        }
        return !revoke
                || LONG.compareAndSet(data, (long) index, header, RecordDescriptor.header(recordLength, PADDING_TYPE));
    }

    @Override
    boolean hasWork() {
        return (long) LONG.getVolatile(memory, tailOffset) != (long) LONG.getVolatile(memory, headOffset);
    }

    @Override
    int wakeCount() {
        return 1;
    }

    private int checkIndex(int index) {
        int record = index - HEADER_LENGTH;
        if (record < 0 || record > capacity - HEADER_LENGTH || (record & (RecordDescriptor.ALIGNMENT - 1)) != 0) {
            throw new IllegalArgumentException("index=" + index + " was not returned by tryClaim");
        }
        return record;
    }

    @Override
    public String toString() {
        return "ManyToOneRing[" + segment.path() + ", capacity=" + capacity + "]";
    }
}
