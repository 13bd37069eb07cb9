package dev.shmesh.grpc.shm;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Connections that a third party (in the mesh, the gateway) made for this process ({@link ShmConnectionEnd}),
 * on their way to the transport. One per process, for both roles:
 * <ul>
 *   <li>as a server: a server built with {@link ShmServerBuilder#forHandedConnections} serves every end given to
 *       {@link #serve};</li>
 *   <li>as a client: {@link #offer} an end per replica; a channel built with {@link
 *       ShmChannelBuilder#handedConnections} resolves {@code shm:///<service>} to the replicas offered here and
 *       connects to a replica by taking its end. A replica whose connection ended needs a new end; {@link #remove}
 *       takes a replica out of the service for good.</li>
 * </ul>
 * Thread-safe.
 */
public final class HandedConnections {
    private final Map<String, Set<String>> replicas = new ConcurrentHashMap<>();
    private final Map<ShmAddress, ShmConnectionEnd> offered = new ConcurrentHashMap<>();
    private final List<Runnable> watchers = new CopyOnWriteArrayList<>();
    private volatile Consumer<ShmConnectionEnd> server;

    /** Offers a connection to replica {@code replica} of {@code service}; replaces (and closes) one not yet used. */
    public void offer(String service, String replica, ShmConnectionEnd end) {
        ShmConnectionEnd old = offered.put(ShmAddress.named(service, replica), end);
        if (old != null) {
            old.close();
        }
        boolean added = replicas.computeIfAbsent(service, s -> new ConcurrentSkipListSet<>()).add(replica);
        if (added) {
            watchers.forEach(Runnable::run);
        }
    }

    /** Takes replica {@code replica} out of {@code service} (it is gone); closes an end not yet used. */
    public void remove(String service, String replica) {
        ShmConnectionEnd old = offered.remove(ShmAddress.named(service, replica));
        if (old != null) {
            old.close();
        }
        Set<String> set = replicas.get(service);
        if (set != null && set.remove(replica)) {
            watchers.forEach(Runnable::run);
        }
    }

    /** The replicas of {@code service} offered so far and not removed. */
    public List<String> replicas(String service) {
        Set<String> set = replicas.get(service);
        return set == null ? List.of() : List.copyOf(set);
    }

    /** Hands a connection to the server built on this object; closes it if there is none (yet). */
    public void serve(ShmConnectionEnd end) {
        Consumer<ShmConnectionEnd> s = server;
        if (s == null) {
            end.close();
            throw new IllegalStateException("no started server takes handed connections here; build one with "
                    + "ShmServerBuilder.forHandedConnections and start it first");
        }
        s.accept(end);
    }

    /** The end offered for {@code address}, taken (once), or null. For the transport. */
    public ShmConnectionEnd take(ShmAddress address) {
        return offered.remove(address);
    }

    /** Registers the started server that {@link #serve} feeds; null unregisters. For the transport. */
    public void bindServer(Consumer<ShmConnectionEnd> server) {
        this.server = server;
    }

    /** A name-resolver provider for {@code shm:///<service>} over the replicas offered here. */
    NameResolverProvider resolverProvider() {
        return new ShmSchemeResolverProvider() {
            @Override
            NameResolver resolverFor(String service, NameResolver.Args args) {
                return new Resolver(service);
            }
        };
    }

    private final class Resolver extends ReplicaResolver {
        private final Runnable watcher = this::resolve;

        Resolver(String service) {
            super(service);
        }

        @Override
        List<ShmAddress> replicas() {
            return HandedConnections.this.replicas(service).stream().map(r -> ShmAddress.named(service, r)).toList();
        }

        @Override
        String whyNone() {
            return "none has been handed to this process";
        }

        @Override
        public void start(Listener2 listener) {
            watchers.add(watcher);
            super.start(listener);
        }

        @Override
        public void refresh() {
            resolve();
        }

        @Override
        public void shutdown() {
            watchers.remove(watcher);
        }
    }
}
