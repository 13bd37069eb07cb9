package dev.shmesh.service.quarkus;

import dev.shmesh.service.MeshService;
import io.grpc.ForwardingChannelBuilder2;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/**
 * A channel builder whose channel is registered with the mesh's connections, so that a replica that (re)appears is
 * reached at once instead of after the channel's reconnect backoff.
 */
final class TrackedChannelBuilder extends ForwardingChannelBuilder2<TrackedChannelBuilder> {
    private final ManagedChannelBuilder<?> delegate;
    private final String service;

    TrackedChannelBuilder(ManagedChannelBuilder<?> delegate, String service) {
        this.delegate = delegate;
        this.service = service;
    }

    @Override
    protected ManagedChannelBuilder<?> delegate() {
        return delegate;
    }

    @Override
    public ManagedChannel build() {
        return MeshService.current().connections().track(service, delegate.build());
    }
}
