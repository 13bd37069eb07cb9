package dev.shmesh.grpc.shm;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The {@code shm} name-resolver scheme: {@code shm:///catalog} names every replica of service {@code catalog},
 * that is every rendezvous socket {@code <directory>/catalog/*.sock}, each its own address so that load balancing
 * (round_robin by default in {@link ShmChannelBuilder}) spreads calls across them. The directory is re-read every
 * second and whenever grpc-java asks (a replica failed), so replicas that come and go are picked up.
 *
 * <p>The directory: {@link ShmChannelBuilder#directory}, else the system property {@code shmesh.grpc.directory},
 * else the environment variable {@code SHMESH_GRPC_DIRECTORY}, else {@code /run/shmesh/grpc}.
 */
public final class ShmNameResolverProvider extends ShmSchemeResolverProvider {
    private static final long REFRESH_MILLIS = 1000;

    private final Path directory;

    /** The provider grpc-java loads through ServiceLoader: the default directory. */
    public ShmNameResolverProvider() {
        this(defaultDirectory());
    }

    public ShmNameResolverProvider(Path directory) {
        this.directory = directory;
    }

    static Path defaultDirectory() {
        String p = System.getProperty("shmesh.grpc.directory");
        if (p == null) {
            p = System.getenv("SHMESH_GRPC_DIRECTORY");
        }
        return Path.of(p == null ? "/run/shmesh/grpc" : p);
    }

    @Override
    NameResolver resolverFor(String service, NameResolver.Args args) {
        return new DirectoryResolver(directory.resolve(service), service, args.getScheduledExecutorService());
    }

    /** Lists one service's sockets. */
    private static final class DirectoryResolver extends NameResolver {
        private final Path serviceDir;
        private final String service;
        private final ScheduledExecutorService timer;
        private Listener2 listener;
        private ScheduledFuture<?> refresher;
        private List<EquivalentAddressGroup> last;

        DirectoryResolver(Path serviceDir, String service, ScheduledExecutorService timer) {
            this.serviceDir = serviceDir;
            this.service = service;
            this.timer = timer;
        }

        @Override
        public String getServiceAuthority() {
            return service;
        }

        @Override
        public void start(Listener2 listener) {
            this.listener = listener;
            resolve();
            refresher = timer.scheduleWithFixedDelay(this::resolve, REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void refresh() {
            timer.execute(this::resolve);
        }

        private synchronized void resolve() {
            List<EquivalentAddressGroup> groups = new ArrayList<>();
            try (Stream<Path> files = Files.list(serviceDir)) {
                files.filter(p -> p.getFileName().toString().endsWith(".sock")).sorted()
                        .forEach(p -> groups.add(new EquivalentAddressGroup(new ShmAddress(p))));
            } catch (IOException e) {
                // no directory yet: no replica
            }
            if (groups.equals(last)) {
                return;
            }
            last = groups;
            if (groups.isEmpty()) {
                listener.onError(Status.UNAVAILABLE.withDescription("no replica of service " + service + ": no *.sock in "
                        + serviceDir));
                return;
            }
            listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(
                    io.grpc.StatusOr.fromValue(groups)).build());
        }

        @Override
        public synchronized void shutdown() {
            if (refresher != null) {
                refresher.cancel(false);
            }
        }
    }
}
