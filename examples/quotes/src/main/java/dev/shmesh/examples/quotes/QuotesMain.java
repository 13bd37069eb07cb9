package dev.shmesh.examples.quotes;

import dev.shmesh.examples.api.v1.Entry;
import dev.shmesh.examples.api.v1.GreetRequest;
import dev.shmesh.examples.api.v1.GreeterGrpc;
import dev.shmesh.examples.api.v1.Greeting;
import dev.shmesh.examples.api.v1.LedgerGrpc;
import dev.shmesh.examples.api.v1.Quote;
import dev.shmesh.examples.api.v1.QuoteRequest;
import dev.shmesh.examples.api.v1.QuotesGrpc;
import dev.shmesh.examples.api.v1.Receipt;
import dev.shmesh.service.Callers;
import dev.shmesh.service.MeshService;
import io.grpc.Context;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The public example service: the edge routes {@code shmesh.example.v1.Quotes} to it; every quote it hands out is
 * recorded in the ledger and introduced by the greeter, two other services of the mesh, each called with an ordinary
 * generated stub over shared memory. Alone: {@code SHMESH_CALL_LEDGER=localhost:9092
 * SHMESH_CALL_GREETER=localhost:9094 java -jar quotes.jar} serves TCP :9093.
 */
public final class QuotesMain {
    private QuotesMain() {}

    public static void main(String[] args) throws Exception {
        MeshService mesh = MeshService.join();
        LedgerGrpc.LedgerBlockingStub ledger = LedgerGrpc.newBlockingStub(mesh.channel("ledger"));
        GreeterGrpc.GreeterBlockingStub greeter = GreeterGrpc.newBlockingStub(mesh.channel("greeter"));
        Server server = mesh.serverBuilder(9093)
                .addService(ServerInterceptors.intercept(new QuotesService(mesh, ledger, greeter),
                        new Callers.Interceptor()))
                .build().start();
        mesh.ready(server::shutdown);
        System.err.println(mesh.instanceId() + ": quotes serving" + (mesh.inMesh() ? " on shared memory" : " on :9093"));
        server.awaitTermination();
    }

    static final class QuotesService extends QuotesGrpc.QuotesImplBase {
        private static final List<String> QUOTES = List.of(
                "Simplicity is prerequisite for reliability.",
                "Make it work, make it right, make it fast.",
                "The cheapest, fastest and most reliable components are those that aren't there.",
                "Premature optimization is the root of all evil.");
        /** At most this many quotes per Stream call. */
        static final int MAX_COUNT = 10_000;

        private final MeshService mesh;
        private final LedgerGrpc.LedgerBlockingStub ledger;
        private final GreeterGrpc.GreeterBlockingStub greeter;

        QuotesService(MeshService mesh, LedgerGrpc.LedgerBlockingStub ledger, GreeterGrpc.GreeterBlockingStub greeter) {
            this.mesh = mesh;
            this.ledger = ledger;
            this.greeter = greeter;
        }

        @Override
        public void get(QuoteRequest request, StreamObserver<Quote> responses) {
            mesh.served();
            responses.onNext(quote(request.getTopic(), 0));
            responses.onCompleted();
        }

        @Override
        public void stream(QuoteRequest request, StreamObserver<Quote> responses) {
            mesh.served();
            if (request.getCount() > MAX_COUNT) {
                responses.onError(Status.INVALID_ARGUMENT.withDescription("count=" + request.getCount()
                        + " is more than " + MAX_COUNT).asRuntimeException());
                return;
            }
            for (int i = 0; i < request.getCount(); i++) {
                if (Context.current().isCancelled()) {
                    return;
                }
                responses.onNext(quote(request.getTopic(), i));
            }
            responses.onCompleted();
        }

        private Quote quote(String topic, int i) {
            String text = QUOTES.get(Math.floorMod(topic.hashCode() + i, QUOTES.size()));
            // the deadline of the client's call, if any, bounds the call to the ledger too (Context propagation)
            Receipt receipt = ledger.withDeadlineAfter(5, TimeUnit.SECONDS).record(Entry.newBuilder().setText(text).build());
            Greeting greeting = greeter.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .greet(GreetRequest.newBuilder().setName(topic).build());
            return Quote.newBuilder().setText(text).setEntry(receipt.getSequence()).setServedBy(mesh.instanceId())
                    .setRecordedBy(receipt.getRecordedBy()).setCaller(Callers.describeCurrent())
                    .setGreeting(greeting.getText()).setGreeterSaw(greeting.getCaller()).build();
        }
    }
}
