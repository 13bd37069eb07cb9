package dev.shmesh.broker;

import static dev.shmesh.broker.internal.CountersDescriptor.LABEL_LENGTH_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.LABEL_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.MAX_LABEL_LENGTH;
import static dev.shmesh.broker.internal.CountersDescriptor.MAX_RECORDS_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.NEXT_FREE_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.STATE_ALLOCATED;
import static dev.shmesh.broker.internal.CountersDescriptor.STATE_OFFSET;

import dev.shmesh.broker.internal.CountersDescriptor;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A counters segment ({@link CountersDescriptor}): per-ring traffic counters that the gateway reads for
 * {@code /metrics} without any RPC (see {@link CountersReader}). Records are allocated with getAndAdd on the
 * next-free word, so several processes may allocate; a record's state is written last.
 */
public final class Counters implements AutoCloseable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final ShmSegment segment;
    private final MemorySegment region;
    private final int maxRecords;

    private Counters(ShmSegment segment, int maxRecords) {
        this.segment = segment;
        this.region = segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH);
        this.maxRecords = maxRecords;
    }

    /** Creates {@code /dev/shm/shmesh-<mesh>-<name>} with room for {@code maxRecords} rings. */
    public static Counters create(String mesh, String name, int maxRecords) throws IOException {
        return create(ShmSegment.pathOf(mesh, name), maxRecords);
    }

    public static Counters create(Path path, int maxRecords) throws IOException {
        if (maxRecords < 1 || maxRecords > 1 << 16) {
            throw new IllegalArgumentException("maxRecords=" + maxRecords + " must be in [1, 65536]");
        }
        ShmSegment segment = ShmSegment.create(path, SegmentHeaderDescriptor.KIND_COUNTERS,
                SegmentHeaderDescriptor.LENGTH + CountersDescriptor.regionLength(maxRecords));
        MemorySegment region = segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH);
        region.set(ValueLayout.JAVA_INT, MAX_RECORDS_OFFSET, maxRecords);
        segment.publish();
        return new Counters(segment, maxRecords);
    }

    /** Attaches to a published counters segment read-write (for processes that update counters). */
    public static Counters attach(ShmSegment segment) throws ShmFormatException {
        return new Counters(segment, validate(segment));
    }

    static int validate(ShmSegment segment) throws ShmFormatException {
        if (segment.layoutKind() != SegmentHeaderDescriptor.KIND_COUNTERS) {
            throw new ShmFormatException(segment.path(), "is not a counters segment", "check which segment was passed");
        }
        long regionLength = segment.length() - SegmentHeaderDescriptor.LENGTH;
        int max = segment.memory().get(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.LENGTH + MAX_RECORDS_OFFSET);
        if (max < 1 || CountersDescriptor.regionLength(max) > regionLength) {
            throw new ShmFormatException(segment.path(), "max records " + max + " does not fit its "
                    + regionLength + " bytes", "the segment is corrupt; remove it and recreate");
        }
        return max;
    }

    /**
     * Allocates the next record for {@code label}.
     *
     * @throws IllegalStateException when the table is full
     */
    public RingCounters allocate(String label) {
        byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_LABEL_LENGTH) {
            bytes = Arrays.copyOf(bytes, MAX_LABEL_LENGTH);
        }
        int index = (int) INT.getAndAdd(region, (long) NEXT_FREE_OFFSET, 1);
        if (index < 0 || index >= maxRecords) {
            throw new IllegalStateException("counters segment " + segment.path() + " is full: maxRecords=" + maxRecords);
        }
        long record = CountersDescriptor.recordOffset(index);
        MemorySegment.copy(bytes, 0, region, ValueLayout.JAVA_BYTE, record + LABEL_OFFSET, bytes.length);
        region.set(ValueLayout.JAVA_INT, record + LABEL_LENGTH_OFFSET, bytes.length);
        INT.setRelease(region, record + STATE_OFFSET, STATE_ALLOCATED);
        return new RingCounters(region, record, new String(bytes, StandardCharsets.UTF_8));
    }

    /** The allocated record labelled {@code label}, or null. */
    public RingCounters find(String label) {
        try (CountersReader reader = new CountersReader(segment, region, maxRecords, false)) {
            for (int i = 0; i < reader.size(); i++) {
                if (label.equals(reader.label(i))) {
                    return new RingCounters(region, CountersDescriptor.recordOffset(i), label);
                }
            }
        }
        return null;
    }

    public ShmSegment segment() {
        return segment;
    }

    /** Unmaps the segment (does not unlink it). */
    @Override
    public void close() {
        segment.close();
    }
}
