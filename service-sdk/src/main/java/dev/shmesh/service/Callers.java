package dev.shmesh.service;

import dev.shmesh.grpc.shm.PeerIdentity;
import dev.shmesh.grpc.shm.ShmGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Optional;

/**
 * Who is calling, as the mesh attested it: {@link Interceptor} puts the caller's {@link PeerIdentity} (from the
 * server call's attributes, set by the gateway's handshake, never by the caller) into the call's {@link Context},
 * where the service's code reads it with {@link #current()}. To authorise callers by service, see grpc-shm's
 * {@code CallerAuthorization}.
 */
public final class Callers {
    private static final Context.Key<PeerIdentity> CALLER = Context.key("shmesh-caller");

    private Callers() {}

    /** The caller of the current call, or empty outside the mesh (a TCP caller has no attested identity). */
    public static Optional<PeerIdentity> current() {
        return Optional.ofNullable(CALLER.get());
    }

    /** {@code service/worker} of the current caller ({@code edge/worker-1}), or {@code -} outside the mesh. */
    public static String describeCurrent() {
        return current().map(p -> p.service() + "/" + p.worker()).orElse("-");
    }

    /** Add it to a server (or, in Quarkus, subclass it as a {@code @GlobalInterceptor} bean). Stateless. */
    public static class Interceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            PeerIdentity peer = call.getAttributes().get(ShmGrpc.PEER_IDENTITY);
            if (peer == null) {
                return next.startCall(call, headers);
            }
            return Contexts.interceptCall(Context.current().withValue(CALLER, peer), call, headers, next);
        }
    }
}
