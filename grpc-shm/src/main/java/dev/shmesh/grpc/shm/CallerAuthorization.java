package dev.shmesh.grpc.shm;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;

/**
 * A server interceptor that lets only the named services call: the caller's service is the one the mesh attested
 * ({@link ShmGrpc#PEER_IDENTITY}), not anything in the request. Others get PERMISSION_DENIED before the handler
 * runs. The shared-memory counterpart of authorising by the SAN of an mTLS client certificate.
 */
public final class CallerAuthorization implements ServerInterceptor {
    private final Set<String> allowed;

    private CallerAuthorization(Set<String> allowed) {
        this.allowed = allowed;
    }

    /** Admits calls from peers attested as one of {@code services}. */
    public static CallerAuthorization allow(String... services) {
        return new CallerAuthorization(Set.of(services));
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        PeerIdentity peer = call.getAttributes().get(ShmGrpc.PEER_IDENTITY);
        if (peer == null || peer.service() == null || !allowed.contains(peer.service())) {
            call.close(Status.PERMISSION_DENIED.withDescription("caller " + (peer == null ? "(not over shared memory)"
                    : peer) + " may not call " + call.getMethodDescriptor().getServiceName() + "; allowed: "
                    + allowed), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
    }
}
