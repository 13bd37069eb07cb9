package dev.shmesh.worker;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.ComputeGrpc;
import dev.shmesh.api.demo.v1.DigestReply;
import dev.shmesh.api.demo.v1.DigestRequest;
import dev.shmesh.grpc.shm.HandedConnections;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An edge worker's calls to the compute workers: {@code shmesh.demo.v1.Compute} over gRPC on shared memory, on the
 * connections the gateway hands this worker (one per compute worker), balanced round-robin. A compute worker that
 * dies mid-call fails that call with UNAVAILABLE at once and the retry policy sends it to another, so each
 * request is computed at least once and answered once.
 */
final class ComputeClient {
    /** The service name compute workers are offered under in {@link HandedConnections}. */
    static final String SERVICE = "compute";
    private static final long TIMEOUT_MS = Long.getLong("shmesh.digest.timeout-ms", 10_000);
    private static volatile ComputeClient instance;

    private final HandedConnections handed = new HandedConnections();
    private final ManagedChannel channel;
    private final ComputeGrpc.ComputeFutureStub stub;

    private ComputeClient() {
        Map<String, Object> retry = Map.of("methodConfig", List.of(Map.of(
                "name", List.of(Map.of("service", "shmesh.demo.v1.Compute")),
                "waitForReady", true,
                "retryPolicy", Map.of("maxAttempts", 5.0, "initialBackoff", "0.005s", "maxBackoff", "0.2s",
                        "backoffMultiplier", 2.0, "retryableStatusCodes", List.of("UNAVAILABLE")))));
        this.channel = ShmChannelBuilder.forTarget("shm:///" + SERVICE).handedConnections(handed)
                .defaultServiceConfig(retry).enableRetry()
                // a 4 MiB request must stay buffered to be retried on another compute worker
                .perRpcBufferLimit(2L * Digests.MAX_DATA).retryBufferSize(16L * Digests.MAX_DATA)
                .maxInboundMessageSize(64 << 10)
                // replies complete a future whose callback hops to the Vert.x context: no need for another hop first
                .directExecutor()
                .build();
        this.stub = ComputeGrpc.newFutureStub(channel);
    }

    /** Starts the client; compute workers come with {@link #offer}. */
    static ComputeClient start() {
        ComputeClient c = new ComputeClient();
        instance = c;
        return c;
    }

    /**
     * A connection the gateway made to compute worker {@code replica}: the next call to that replica goes through it
     * (at once, not after the channel's reconnect backoff from an earlier connection that died).
     */
    void offer(String replica, dev.shmesh.grpc.shm.ShmConnectionEnd end) {
        handed.offer(SERVICE, replica, end);
        channel.resetConnectBackoff();
    }

    /** The client, or null before {@link #start} (no compute in this mesh yet). */
    static ComputeClient get() {
        return instance;
    }

    /** Stops calling: the worker leaves. Calls in flight fail with UNAVAILABLE. */
    static void stop() {
        ComputeClient c = instance;
        instance = null;
        if (c != null) {
            c.channel.shutdownNow();
        }
    }

    /** Digests {@code data} on some compute worker; completes with the reply or a {@link StatusRuntimeException}. */
    CompletableFuture<DigestReply> digest(String algorithm, byte[] data) {
        CompletableFuture<DigestReply> result = new CompletableFuture<>();
        if (Digests.jdkName(algorithm) == null) {
            result.completeExceptionally(Status.INVALID_ARGUMENT.withDescription(Digests.unknown(algorithm))
                    .asRuntimeException());
            return result;
        }
        if (data.length > Digests.MAX_DATA) {
            result.completeExceptionally(Status.INVALID_ARGUMENT.withDescription("data is " + data.length
                    + " bytes; the limit is " + Digests.MAX_DATA).asRuntimeException());
            return result;
        }
        DigestRequest request = DigestRequest.newBuilder().setAlgorithm(algorithm == null ? "" : algorithm)
                .setData(ByteString.copyFrom(data)).build();
        Futures.addCallback(stub.withDeadlineAfter(TIMEOUT_MS, TimeUnit.MILLISECONDS).digest(request),
                new FutureCallback<>() {
                    @Override
                    public void onSuccess(DigestReply reply) {
                        result.complete(reply);
                    }

                    @Override
                    public void onFailure(Throwable t) {
                        result.completeExceptionally(t);
                    }
                }, MoreExecutors.directExecutor());
        return result;
    }
}
