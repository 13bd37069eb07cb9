package dev.shmesh.broker;

/**
 * A monotonic clock in nanoseconds, for deadlines that other processes compare ({@link LeaseTable}): every party of
 * one table must read the same clock, so outside a test it is {@link #SYSTEM}. A test injects one it moves by hand
 * instead of sleeping. Implementations are thread-safe; values are compared by their difference, never directly
 * (they may be negative and may wrap).
 */
@FunctionalInterface
public interface NanoClock {
    /** {@link System#nanoTime()}: CLOCK_MONOTONIC on Linux, the same in every process of a host. */
    NanoClock SYSTEM = System::nanoTime;

    /** The current time in nanoseconds, from an arbitrary origin. */
    long nanoTime();
}
