package dev.shmesh.broker;

import java.lang.foreign.MemorySegment;

/** Receives messages from {@link Ring#poll}. */
@FunctionalInterface
public interface MessageHandler {
    /**
     * One message: {@code length} payload bytes at {@code offset} in {@code buffer} (the ring's data area).
     * Valid only during the call: copy what you keep. The bytes come from another process: validate them.
     */
    void onMessage(int type, MemorySegment buffer, long offset, int length);
}
