package dev.shmesh.worker;

import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.EchoReply;
import dev.shmesh.api.demo.v1.EchoRequest;
import com.google.protobuf.ByteString;
import dev.shmesh.api.demo.v1.DigestReply;
import dev.shmesh.api.demo.v1.DigestRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.quarkus.grpc.GrpcService;

/** The gRPC {@code shmesh.demo.v1.Demo} service, served on the mesh port next to the HTTP routes. */
@GrpcService
public class DemoService extends DemoGrpc.DemoImplBase {

    @Override
    public void echo(EchoRequest request, StreamObserver<EchoReply> responses) {
        WorkerIdentity.served();
        responses.onNext(EchoReply.newBuilder()
                .setPayload(request.getPayload())
                .setWorkerId(WorkerIdentity.id())
                .build());
        responses.onCompleted();
    }

    @Override
    public void digest(DigestRequest request, StreamObserver<DigestReply> responses) {
        WorkerIdentity.served();
        EdgeDigests digests = EdgeDigests.get();
        if (digests == null) {
            responses.onError(Status.UNAVAILABLE.withDescription("no broker in this mesh").asRuntimeException());
            return;
        }
        Context context = Vertx.currentContext();
        digests.submit(request.getAlgorithm(), request.getData().toByteArray()).thenAccept(r -> {
            Runnable answer = () -> {
                switch (r.outcome()) {
                    case OK -> {
                        responses.onNext(DigestReply.newBuilder()
                                .setDigest(ByteString.copyFrom(r.digest()))
                                .setWorkerId(WorkerIdentity.id())
                                .setComputedBy(r.computedBy())
                                .build());
                        responses.onCompleted();
                    }
                    case BAD_ALGORITHM, TOO_LARGE ->
                            responses.onError(Status.INVALID_ARGUMENT.withDescription(r.detail()).asRuntimeException());
                    case FULL -> responses.onError(
                            Status.RESOURCE_EXHAUSTED.withDescription(r.detail()).asRuntimeException());
                    case UNAVAILABLE -> responses.onError(
                            Status.UNAVAILABLE.withDescription(r.detail()).asRuntimeException());
                    case TIMEOUT -> responses.onError(
                            Status.DEADLINE_EXCEEDED.withDescription(r.detail()).asRuntimeException());
                    case FAILED -> responses.onError(Status.INTERNAL.withDescription(r.detail()).asRuntimeException());
                }
            };
            if (context != null) {
                context.runOnContext(v -> answer.run());
            } else {
                answer.run();
            }
        });
    }
}
