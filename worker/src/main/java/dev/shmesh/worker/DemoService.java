package dev.shmesh.worker;

import dev.shmesh.api.demo.v1.DemoGrpc;
import dev.shmesh.api.demo.v1.EchoReply;
import dev.shmesh.api.demo.v1.EchoRequest;
import io.grpc.stub.StreamObserver;
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
}
