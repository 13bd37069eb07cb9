package dev.shmesh.examples.ledger;

import dev.shmesh.examples.api.v1.Entry;
import dev.shmesh.examples.api.v1.LedgerGrpc;
import dev.shmesh.examples.api.v1.Receipt;
import dev.shmesh.service.Callers;
import dev.shmesh.service.MeshService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The internal example service: numbers each entry it is given. In the mesh it has no network at all (an empty
 * network namespace, and a seccomp filter that refuses socket()); only the services whose {@code calls} name it
 * reach it, over shared memory. Alone: {@code java -jar ledger.jar} serves TCP :9092.
 */
public final class LedgerMain {
    private LedgerMain() {}

    public static void main(String[] args) throws Exception {
        MeshService mesh = MeshService.join();
        LedgerService ledger = new LedgerService(mesh);
        Server server = mesh.serverBuilder(9092)
                .addService(ServerInterceptors.intercept(ledger, new Callers.Interceptor()))
                .build().start();
        mesh.info(() -> Map.of("ledger.entries", Long.toString(ledger.entries.get())));
        mesh.ready(server::shutdown);
        System.err.println(mesh.instanceId() + ": ledger serving" + (mesh.inMesh() ? " on shared memory" : " on :9092"));
        server.awaitTermination();
    }

    static final class LedgerService extends LedgerGrpc.LedgerImplBase {
        private final MeshService mesh;
        final AtomicLong entries = new AtomicLong();

        LedgerService(MeshService mesh) {
            this.mesh = mesh;
        }

        @Override
        public void record(Entry request, StreamObserver<Receipt> responses) {
            mesh.served();
            responses.onNext(Receipt.newBuilder().setSequence(entries.incrementAndGet())
                    .setRecordedBy(mesh.instanceId()).setCaller(Callers.describeCurrent()).build());
            responses.onCompleted();
        }
    }
}
