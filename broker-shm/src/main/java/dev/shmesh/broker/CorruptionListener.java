package dev.shmesh.broker;

/** Told when this process fences a ring because of what it read from shared memory. */
@FunctionalInterface
public interface CorruptionListener {
    /** {@code report} names the ring's file, the reason, the position and the pid; log it and drop the peer. */
    void onFenced(Ring ring, String report);
}
