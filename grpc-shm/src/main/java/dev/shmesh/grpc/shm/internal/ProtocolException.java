package dev.shmesh.grpc.shm.internal;

/** A peer broke the frame protocol ({@link FrameDescriptor}): the connection is closed, nothing is repaired. */
final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
        super(message, null, false, false);
    }
}
