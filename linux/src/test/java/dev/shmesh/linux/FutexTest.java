package dev.shmesh.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
            AtomicLong waiterTid = new AtomicLong(-1);
            CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> {
                waiterTid.set(RawSyscall.invoke(SyscallTable.require("gettid")).value());
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
            // the waiter sleeps in futex(2) on mapping a: only a wake through mapping b can end it before its timeout
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!asleepInFutex(waiterTid.get(), a.address() + 64)) {
                assertTrue(System.nanoTime() - deadline < 0, "the waiter never went to sleep");
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L); // the poll interval
            }
            b.set(ValueLayout.JAVA_INT, 64, 1);
            assertEquals(1, Futex.wake(b, 64, Integer.MAX_VALUE), "the wake through b found the sleeper on a");
            assertEquals(Futex.WOKEN, waiter.get(20, TimeUnit.SECONDS));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * Whether thread {@code tid} of this process sleeps in futex(2) on the word at {@code address}: sleeping (S) in the
     * futex system call with that address as its first argument (/proc/self/task/TID/syscall). The address matters: a
     * JVM thread also sleeps in futex(2) when it parks or stops at a safepoint.
     */
    private static boolean asleepInFutex(long tid, long address) {
        Path task = Path.of("/proc/self/task", Long.toString(tid));
        try {
            String stat = Files.readString(task.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            String[] call = Files.readString(task.resolve("syscall")).trim().split(" ");
            return state == 'S' && call.length > 1 && call[0].equals(Integer.toString(SyscallTable.require("futex")))
                    && Long.decode(call[1]) == address;
        } catch (java.io.IOException | NumberFormatException e) {
            return false; // not started yet
        }
    }
}
