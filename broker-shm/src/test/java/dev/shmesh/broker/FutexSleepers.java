package dev.shmesh.broker;

import dev.shmesh.linux.RawSyscall;
import dev.shmesh.linux.SyscallTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a thread of this process is asleep in {@code futex(2)} on a given word, from /proc: the observable
 * condition a test waits for before it wakes the thread, instead of sleeping and hoping.
 */
final class FutexSleepers {
    private static final int FUTEX = SyscallTable.require("futex");

    private FutexSleepers() {}

    /** The calling thread's kernel thread id (gettid). */
    static long tid() {
        return RawSyscall.invoke(SyscallTable.require("gettid")).value();
    }

    /**
     * Whether thread {@code tid} of this process sleeps in futex(2) on the word at {@code address}: sleeping (S) in the
     * futex system call with that address as its first argument (/proc/self/task/TID/syscall). The address matters: a
     * JVM thread also sleeps in futex(2) when it parks or stops at a safepoint.
     */
    static boolean asleepInFutex(long tid, long address) {
        Path task = Path.of("/proc/self/task", Long.toString(tid));
        try {
            String stat = Files.readString(task.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            String[] call = Files.readString(task.resolve("syscall")).trim().split(" ");
            return state == 'S' && call.length > 1 && call[0].equals(Integer.toString(FUTEX))
                    && Long.decode(call[1]) == address;
        } catch (IOException | NumberFormatException e) {
            return false; // not started yet, or gone
        }
    }
}
