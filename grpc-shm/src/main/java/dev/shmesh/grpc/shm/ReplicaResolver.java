package dev.shmesh.grpc.shm;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import java.util.ArrayList;
import java.util.List;

/**
 * What every {@code shm:///<service>} resolver does once it has listed the replicas: one address group per replica,
 * published when the list changed, UNAVAILABLE when it is empty. Subclasses say where the list comes from and when
 * to look again. Thread-safe: {@link #resolve} is synchronized.
 */
abstract class ReplicaResolver extends NameResolver {
    final String service;
    private Listener2 listener;
    private List<EquivalentAddressGroup> last;

    ReplicaResolver(String service) {
        this.service = service;
    }

    /** The replicas now. */
    abstract List<ShmAddress> replicas();

    /** Why there is none, for the UNAVAILABLE the channel's calls get. */
    abstract String whyNone();

    @Override
    public final String getServiceAuthority() {
        return service;
    }

    @Override
    public void start(Listener2 listener) {
        synchronized (this) {
            this.listener = listener;
        }
        resolve();
    }

    /** Lists the replicas and tells the channel if the list changed. */
    final synchronized void resolve() {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (ShmAddress a : replicas()) {
            groups.add(new EquivalentAddressGroup(a));
        }
        if (groups.equals(last)) {
            return;
        }
        last = groups;
        if (groups.isEmpty()) {
            listener.onError(Status.UNAVAILABLE.withDescription("no replica of service " + service + ": " + whyNone()));
            return;
        }
        listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
    }
}
