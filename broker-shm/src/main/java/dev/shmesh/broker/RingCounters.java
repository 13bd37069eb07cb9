package dev.shmesh.broker;

import static dev.shmesh.broker.internal.CountersDescriptor.BACK_PRESSURE_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.CONSUMER_LAG_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.DEPTH_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.DEQUEUED_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.ENQUEUED_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.LEASES_EXPIRED_OFFSET;
import static dev.shmesh.broker.internal.CountersDescriptor.REDELIVERED_OFFSET;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One ring's record in a {@link Counters} segment: a flyweight over 256 bytes of shared memory. Updates are
 * getAndAdd (any thread, any process) or setRelease (gauges, written by the consumer); reads are acquire.
 * Does not allocate.
 */
public final class RingCounters {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment memory;
    private final long record;
    private final String label;

    RingCounters(MemorySegment memory, long record, String label) {
        this.memory = memory;
        this.record = record;
        this.label = label;
    }

    public String label() {
        return label;
    }

    public long enqueued() {
        return get(ENQUEUED_OFFSET);
    }

    public long dequeued() {
        return get(DEQUEUED_OFFSET);
    }

    public long redelivered() {
        return get(REDELIVERED_OFFSET);
    }

    public long backPressureEvents() {
        return get(BACK_PRESSURE_OFFSET);
    }

    /** Bytes (MPSC) or slots (MPMC) in use when the consumer last polled. */
    public long depth() {
        return get(DEPTH_OFFSET);
    }

    /** Messages enqueued but not yet dequeued, as seen when the consumer last polled. */
    public long consumerLag() {
        return get(CONSUMER_LAG_OFFSET);
    }

    public long leasesExpired() {
        return get(LEASES_EXPIRED_OFFSET);
    }

    void addEnqueued(long n) {
        add(ENQUEUED_OFFSET, n);
    }

    void addDequeued(long n) {
        add(DEQUEUED_OFFSET, n);
    }

    void addBackPressure() {
        add(BACK_PRESSURE_OFFSET, 1);
    }

    /** Increments the redelivered counter; for lease owners. */
    public void addRedelivered(long n) {
        add(REDELIVERED_OFFSET, n);
    }

    /** Increments the leases-expired counter; for lease owners. */
    public void addLeasesExpired(long n) {
        add(LEASES_EXPIRED_OFFSET, n);
    }

    void setDepth(long depth) {
        LONG.setRelease(memory, record + DEPTH_OFFSET, depth);
    }

    void setConsumerLag(long lag) {
        LONG.setRelease(memory, record + CONSUMER_LAG_OFFSET, lag);
    }

    private long get(int offset) {
        return (long) LONG.getAcquire(memory, record + offset);
    }

    private void add(int offset, long n) {
        long unused = (long) LONG.getAndAdd(memory, record + offset, n);
    }
}
