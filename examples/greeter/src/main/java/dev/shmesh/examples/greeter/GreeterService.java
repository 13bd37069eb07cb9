package dev.shmesh.examples.greeter;

import dev.shmesh.examples.api.v1.Entry;
import dev.shmesh.examples.api.v1.GreetRequest;
import dev.shmesh.examples.api.v1.Greeting;
import dev.shmesh.examples.api.v1.GreeterGrpc;
import dev.shmesh.examples.api.v1.LedgerGrpc;
import dev.shmesh.service.Callers;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.TimeUnit;

/**
 * An ordinary Quarkus gRPC service: nothing here knows about the mesh. With the service SDK on the classpath and run
 * by the gateway, Quarkus serves it on shared memory, the {@code @GrpcClient} reaches the ledger service over shared
 * memory, and the interceptor sees the caller the mesh attested.
 */
@GrpcService
@Blocking
public class GreeterService extends GreeterGrpc.GreeterImplBase {
    static final int MAX_COUNT = 1000;
    private static final String INSTANCE = System.getenv().getOrDefault("SHMESH_WORKER_ID", "greeter-alone");

    @GrpcClient("ledger")
    LedgerGrpc.LedgerBlockingStub ledger;

    @Override
    public void greet(GreetRequest request, StreamObserver<Greeting> responses) {
        responses.onNext(greeting(request.getName(), 0));
        responses.onCompleted();
    }

    @Override
    public void greetMany(GreetRequest request, StreamObserver<Greeting> responses) {
        if (request.getCount() > MAX_COUNT) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("count=" + request.getCount() + " is more than "
                    + MAX_COUNT).asRuntimeException());
            return;
        }
        for (int i = 0; i < request.getCount(); i++) {
            responses.onNext(greeting(request.getName(), i));
        }
        responses.onCompleted();
    }

    private Greeting greeting(String name, int i) {
        String text = "Hello, " + (name.isEmpty() ? "mesh" : name) + (i > 0 ? " #" + i : "") + "!";
        long entry = ledger.withDeadlineAfter(5, TimeUnit.SECONDS).record(Entry.newBuilder().setText(text).build())
                .getSequence();
        return Greeting.newBuilder().setText(text).setEntry(entry).setServedBy(INSTANCE).setCaller(Callers.describeCurrent())
                .build();
    }

    /** Puts the caller the mesh attested in the call's context: a Quarkus global interceptor, kept by the mesh. */
    @ApplicationScoped
    @GlobalInterceptor
    public static class CallerInterceptor extends Callers.Interceptor {}
}
