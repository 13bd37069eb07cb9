package dev.shmesh.broker;

import static dev.shmesh.broker.internal.CountersDescriptor.LABEL_LENGTH_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.LABEL_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.MAX_LABEL_LENGTH;
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
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a counters segment from any process, mapped read-only: for {@code /metrics}. Values are acquire
 * reads; a label that is not valid UTF-8 or too long is shown replaced, never trusted for length. Not
 * thread-safe to close while reading.
 */
public final class CountersReader implements AutoCloseable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final ShmSegment segment;
    private final MemorySegment region;
    private final int maxRecords;
    private final boolean owns;

    CountersReader(ShmSegment segment, MemorySegment region, int maxRecords, boolean owns) {
        this.segment = segment;
        this.region = region;
        this.maxRecords = maxRecords;
        this.owns = owns;
    }

    /** Maps the counters segment at {@code path} read-only and validates it. */
    public static CountersReader open(Path path) throws IOException {
        return ShmSegment.open(path, SegmentHeaderDescriptor.KIND_COUNTERS, true).attachOrClose(segment ->
                new CountersReader(segment, segment.memory().asSlice(SegmentHeaderDescriptor.LENGTH),
                        Counters.validate(segment), true));
    }

    /** Records allocated so far (at most the table's size). */
    public int size() {
        int next = (int) INT.getAcquire(region, (long) NEXT_FREE_OFFSET);
        return Math.max(0, Math.min(next, maxRecords));
    }

    /** The label of record {@code index}, or null while it is still being allocated. */
    public String label(int index) {
        long record = record(index);
        if ((int) INT.getAcquire(region, record + STATE_OFFSET) != STATE_ALLOCATED) {
            return null;
        }
        int length = Math.max(0, Math.min(MAX_LABEL_LENGTH, region.get(ValueLayout.JAVA_INT, record + LABEL_LENGTH_OFFSET)));
        byte[] bytes = new byte[length];
        MemorySegment.copy(region, ValueLayout.JAVA_BYTE, record + LABEL_OFFSET, bytes, 0, length);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Counter {@code counter} (an index into {@link CountersDescriptor#COUNTER_NAMES}) of record {@code index}. */
    public long value(int index, int counter) {
        if (counter < 0 || counter >= CountersDescriptor.COUNTER_OFFSETS.length) {
            throw new IllegalArgumentException("counter=" + counter + " must be in [0, "
                    + CountersDescriptor.COUNTER_OFFSETS.length + ")");
        }
        return (long) LONG.getAcquire(region, record(index) + CountersDescriptor.COUNTER_OFFSETS[counter]);
    }

    /** label → (counter name → value), for every allocated record. Allocates. */
    public Map<String, Map<String, Long>> snapshot() {
        Map<String, Map<String, Long>> all = new LinkedHashMap<>();
        for (int i = 0; i < size(); i++) {
            String label = label(i);
            if (label == null) {
                continue;
            }
            Map<String, Long> values = new LinkedHashMap<>();
            for (int c = 0; c < CountersDescriptor.COUNTER_NAMES.length; c++) {
                values.put(CountersDescriptor.COUNTER_NAMES[c], value(i, c));
            }
            all.put(label, values);
        }
        return all;
    }

    @Override
    public void close() {
        if (owns) {
            segment.close();
        }
    }

    private long record(int index) {
        if (index < 0 || index >= maxRecords) {
            throw new IllegalArgumentException("index=" + index + " must be in [0, " + maxRecords + ")");
        }
        return CountersDescriptor.recordOffset(index);
    }
}
