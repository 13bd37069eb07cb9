package dev.shmesh.broker;

/**
 * Where a consumer takes messages from: a {@link Ring}, or a registered {@link ManyToManyRing.Consumer} of one.
 * {@link LeaseTable#pollLeased} takes either.
 */
public interface MessageSource {
    /** See {@link Ring#poll}. */
    int poll(MessageHandler handler, int limit);

    /** Longest payload a message can have. */
    int maxPayloadLength();
}
