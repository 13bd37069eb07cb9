package dev.shmesh.worker;

import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.EchoReply;
import dev.shmesh.api.demo.v1.EchoRequest;
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
        ComputeClient computes = ComputeClient.get();
        if (computes == null) {
            responses.onError(Status.UNAVAILABLE.withDescription("no compute worker in this mesh").asRuntimeException());
            return;
        }
        Context context = Vertx.currentContext();
        computes.digest(request.getAlgorithm(), request.getData().toByteArray()).whenComplete((reply, failure) -> {
            Runnable answer = () -> {
                if (failure == null) {
                    responses.onNext(reply.toBuilder().setWorkerId(WorkerIdentity.id()).build());
                    responses.onCompleted();
                } else {
                    responses.onError(Status.fromThrowable(failure).asRuntimeException());
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
