package dev.shmesh.broker;

import dev.shmesh.linux.Futex;

/**
 * What a consumer loop does when {@link Ring#poll} found nothing: {@code idle(workCount)} after every poll,
 * where {@code workCount > 0} resets the strategy. Instances keep per-loop state: one per consumer thread.
 * None allocates.
 */
public sealed interface IdleStrategy {

    /** Called after every unit of work; {@code workCount} is what the last poll handled. */
    void idle(int workCount);

    /** Busy spin ({@link Thread#onSpinWait()}): lowest latency, burns a core. */
    static IdleStrategy spin() {
        return new Spin();
    }

    /**
     * Spins {@code spins} times (yielding the CPU every 256th time), then sleeps on the ring's futex word (see {@link Ring#awaitWork}) for at most
     * {@code maxParkNanos} at a time. Under steady load it stays in the spin phase.
     */
    static IdleStrategy spinThenPark(Ring ring, int spins, long maxParkNanos) {
        if (spins < 0) {
            throw new IllegalArgumentException("spins=" + spins + " must not be negative");
        }
        if (maxParkNanos <= 0) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be positive");
        }
        return new SpinThenPark(ring, spins, maxParkNanos);
    }

    /** Sleeps on the ring's futex word right away: no busy spin. */
    static IdleStrategy park(Ring ring, long maxParkNanos) {
        return spinThenPark(ring, 0, maxParkNanos);
    }

    /** See {@link #spin()}. */
    final class Spin implements IdleStrategy {
        Spin() {}

        @Override
        public void idle(int workCount) {
            if (workCount <= 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** See {@link #spinThenPark}. */
    final class SpinThenPark implements IdleStrategy {
        private static final int YIELD_EVERY = 256;
        private final Ring ring;
        private final int spins;
        private final long maxParkNanos;
        private int idleCount;
        private int parks;
        private int lastWait = Futex.WOKEN;

        SpinThenPark(Ring ring, int spins, long maxParkNanos) {
            this.ring = ring;
            this.spins = spins;
            this.maxParkNanos = maxParkNanos;
        }

        @Override
        public void idle(int workCount) {
            if (workCount > 0) {
                idleCount = 0;
                return;
            }
            if (idleCount < spins) {
                idleCount++;
                if ((idleCount & (YIELD_EVERY - 1)) == 0) {
                    // give the CPU to a runnable peer now and then: on an oversubscribed host the process we
                    // wait for may be queued behind our spinning
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
                return;
            }
            if (lastWait == Futex.VALUE_CHANGED && idleCount++ > spins + 64) {
                // work was claimed but is not published yet (or the ring is not active): yield, do not burn
                Thread.yield();
            }
            lastWait = ring.awaitWork(maxParkNanos);
            parks++;
        }

        /** How many times this strategy called {@link Ring#awaitWork}. */
        public int parks() {
            return parks;
        }

        /** The result of the last {@link Ring#awaitWork}. */
        public int lastWaitResult() {
            return lastWait;
        }
    }
}
