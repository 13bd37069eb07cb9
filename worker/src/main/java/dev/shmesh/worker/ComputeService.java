package dev.shmesh.worker;

import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.ComputeGrpc;
import dev.shmesh.api.demo.v1.DigestReply;
import dev.shmesh.api.demo.v1.DigestRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a compute worker serves: {@code shmesh.demo.v1.Compute} over gRPC on shared memory, to the edge workers the
 * gateway connected it to. Never on a listener.
 */
final class ComputeService extends ComputeGrpc.ComputeImplBase {
    /** Simulated work per digest, for failover tests and demos (-Dshmesh.compute.delay-ms); 0 by default. */
    private static final long DELAY_MS = Long.getLong("shmesh.compute.delay-ms", 0);

    private final String me;
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();

    ComputeService(String me) {
        this.me = me;
    }

    @Override
    public void digest(DigestRequest request, StreamObserver<DigestReply> responses) {
        String alg = Digests.jdkName(request.getAlgorithm());
        if (alg == null) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(Digests.unknown(request.getAlgorithm()))
                    .asRuntimeException());
            return;
        }
        inFlight.incrementAndGet();
        byte[] digest;
        try {
            if (DELAY_MS > 0) {
                Thread.sleep(DELAY_MS);
            }
            digest = Digests.digest(alg, request.getData().toByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            responses.onError(Status.CANCELLED.withDescription("compute worker stopping").asRuntimeException());
            return;
        } finally {
            inFlight.decrementAndGet();
        }
        done.incrementAndGet();
        responses.onNext(DigestReply.newBuilder().setDigest(ByteString.copyFrom(digest)).setComputedBy(me).build());
        responses.onCompleted();
    }

    /** Digests being computed now. */
    long inFlight() {
        return inFlight.get();
    }

    /** Digests computed so far. */
    long done() {
        return done.get();
    }
}
