package dev.shmesh.broker;

import java.lang.foreign.MemorySegment;

/**
 * Where a producer puts messages: a {@link Ring}, or a registered {@link ManyToManyRing.Producer} of one.
 * {@link LeaseTable#reap(MessageSink, LeaseTable.Holders)} redelivers into either.
 */
public interface MessageSink {
    /** See {@link Ring#offer}. */
    int offer(int type, MemorySegment source, long offset, int length);
}
