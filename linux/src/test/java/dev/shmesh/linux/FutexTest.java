package dev.shmesh.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FutexTest {

    @Test
    void waitReturnsValueChangedWhenTheWordDiffers() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(8, 8);
            word.set(ValueLayout.JAVA_INT, 0, 7);
            assertEquals(Futex.VALUE_CHANGED, Futex.await(word, 0, 6, 1_000_000_000L));
        }
    }

    @Test
    void waitTimesOut() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(8, 8);
            assertEquals(Futex.TIMED_OUT, Futex.await(word, 0, 0, 1_000_000L));
        }
    }

    @Test
    void wakeWithoutWaitersWakesNobody() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(0, Futex.wake(arena.allocate(8, 8), 0, 1));
        }
    }

    @Test
    void misalignedOrOutOfBoundsOffsetsAreCallerMistakes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(8, 8);
            assertThrows(IllegalArgumentException.class, () -> Futex.wake(word, 2, 1));
            assertThrows(IllegalArgumentException.class, () -> Futex.wake(word, 8, 1));
        }
    }

    /** Two independent mappings of one file: the shared futex is keyed on the file, not the address. */
    @Test
    void wakeThroughOneMappingWakesAWaiterOnAnother() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "needs /dev/shm (POSIX shared memory)");
        Path file = Files.createTempFile(Path.of("/dev/shm"), "shmesh-futex-test-", ".tmp");
        try (Arena arena = Arena.ofShared();
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.allocate(4096));
            MemorySegment a = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            MemorySegment b = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    int r;
                    do {
                        r = Futex.await(a, 64, 0, 20_000_000_000L);
                    } while (r == Futex.WOKEN && a.get(ValueLayout.JAVA_INT, 64) == 0); // spurious
                    return r;
                } catch (LinuxException e) {
                    throw new IllegalStateException(e);
                }
            });
            int woken = 0;
            while (!waiter.isDone() && woken == 0) {
                Thread.sleep(5);
                b.set(ValueLayout.JAVA_INT, 64, 1);
                woken = Futex.wake(b, 64, Integer.MAX_VALUE);
            }
            int result = waiter.get(20, TimeUnit.SECONDS);
            // either the wake reached the sleeper, or it saw the changed word before sleeping
            assertEquals(woken == 1 ? Futex.WOKEN : Futex.VALUE_CHANGED, result);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
