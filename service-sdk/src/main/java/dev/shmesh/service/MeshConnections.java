package dev.shmesh.service;

import dev.shmesh.api.control.v1.Connection;
import dev.shmesh.api.control.v1.Side;
import dev.shmesh.grpc.shm.HandedConnections;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The gRPC-over-shared-memory connections the gateway makes for this process, sorted by side: ends to serve go to
 * the server built on {@link #server()}, ends to call a replica of a service go to {@link #client()}, where channels
 * built by {@link #channelBuilder} find them by service name ({@code shm:///<service>}). A replica whose end
 * arrives (a first one, or a restarted one) is reachable at once: the channels to its service skip their reconnect
 * backoff.
 *
 * <p>Thread-safe. Feed it from {@link ControlChannel#onConnection} with {@link #accept}.
 */
public final class MeshConnections {
    private static final Logger LOG = Logger.getLogger(MeshConnections.class.getName());

    /**
     * The mesh's default for calls between its processes: a call that finds no connected replica waits for one
     * (replicas start in any order), and a call that fails with UNAVAILABLE (its replica died before answering)
     * is retried on another, up to 5 attempts. Give calls a deadline.
     */
    public static final Map<String, Object> DEFAULT_SERVICE_CONFIG = Map.of(
            "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())),
            "methodConfig", List.of(Map.of(
                    "name", List.of(Map.of()),
                    "waitForReady", true,
                    "retryPolicy", Map.of("maxAttempts", 5.0, "initialBackoff", "0.005s", "maxBackoff", "0.2s",
                            "backoffMultiplier", 2.0, "retryableStatusCodes", List.of("UNAVAILABLE")))));

    private final HandedConnections server = new HandedConnections();
    private final HandedConnections client = new HandedConnections();
    private final Map<String, List<ManagedChannel>> channels = new ConcurrentHashMap<>();

    /** Routes one handed end by its side; closes it (and says why) when nothing here can take it. */
    public void accept(Connection connection, ShmConnectionEnd end) {
        if (connection.getSide() == Side.SIDE_SERVER) {
            try {
                server.serve(end);
            } catch (IllegalStateException e) {
                LOG.warning("a caller's connection (" + connection.getPeer().getWorker() + ") arrived, but this process"
                        + " serves no gRPC on the mesh: " + e.getMessage());
            }
        } else if (connection.getSide() == Side.SIDE_CLIENT) {
            client.offer(connection.getService(), connection.getReplica(), end);
            channels.getOrDefault(connection.getService(), List.of()).forEach(ManagedChannel::resetConnectBackoff);
        } else {
            end.close();
            LOG.warning("a Connection without a side from the gateway; closed");
        }
    }

    /** The connections from callers, for {@code ShmServerBuilder.forHandedConnections}. */
    public HandedConnections server() {
        return server;
    }

    /** The connections to the replicas of the services this process calls. */
    public HandedConnections client() {
        return client;
    }

    /**
     * A channel builder for {@code service}'s replicas, with {@link #DEFAULT_SERVICE_CONFIG} and retries on; the
     * caller may override both. The built channel must be registered with {@link #track} to skip reconnect backoff
     * when a replica comes back; {@link #channel} does both.
     */
    public ShmChannelBuilder channelBuilder(String service) {
        return ShmChannelBuilder.forTarget("shm:///" + service).handedConnections(client)
                .defaultServiceConfig(DEFAULT_SERVICE_CONFIG).enableRetry();
    }

    /** A channel to {@code service}'s replicas with the mesh's defaults. */
    public ManagedChannel channel(String service) {
        return track(service, channelBuilder(service).build());
    }

    /** Registers {@code channel} as one to {@code service} (see {@link #channelBuilder}); returns it. */
    public ManagedChannel track(String service, ManagedChannel channel) {
        channels.computeIfAbsent(service, s -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(channel);
        return channel;
    }

    /** Shuts every tracked channel down now: calls in flight fail with UNAVAILABLE. */
    public void shutdownNow() {
        channels.values().forEach(list -> list.forEach(ManagedChannel::shutdownNow));
        for (List<ManagedChannel> list : channels.values()) {
            for (ManagedChannel c : list) {
                try {
                    c.awaitTermination(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
