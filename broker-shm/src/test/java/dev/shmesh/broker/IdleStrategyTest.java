package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.shmesh.linux.Futex;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class IdleStrategyTest {
    private final ShmFiles files = new ShmFiles();

    @AfterEach
    void deleteFiles() throws Exception {
        files.deleteAll();
    }

    @Test
    void spinsTheGivenNumberOfTimesThenParksOnTheFutex() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("r"), 4096)) {
            IdleStrategy.SpinThenPark idle = (IdleStrategy.SpinThenPark) IdleStrategy.spinThenPark(ring, 10, 1_000_000L);
            for (int i = 0; i < 10; i++) {
                idle.idle(0);
            }
            assertEquals(0, idle.parks(), "still spinning");
            idle.idle(0);
            assertEquals(1, idle.parks());
            assertEquals(Futex.TIMED_OUT, idle.lastWaitResult(), "empty ring: slept the full 1 ms");
            ring.offer(1, MemorySegment.ofArray(new byte[8]), 0, 8);
            idle.idle(0);
            assertEquals(Futex.VALUE_CHANGED, idle.lastWaitResult(), "work is there: does not sleep");
            idle.idle(1);
            idle.idle(0);
            assertEquals(2, idle.parks(), "work resets the spin phase");
        }
    }

    @Test
    void rejectsNonsenseParameters() throws Exception {
        try (ManyToOneRing ring = ManyToOneRing.create(files.path("r"), 4096)) {
            assertThrows(IllegalArgumentException.class, () -> IdleStrategy.spinThenPark(ring, -1, 1));
            assertThrows(IllegalArgumentException.class, () -> IdleStrategy.park(ring, 0));
        }
    }
}
