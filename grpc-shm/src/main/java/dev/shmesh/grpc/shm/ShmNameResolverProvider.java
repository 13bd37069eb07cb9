package dev.shmesh.grpc.shm;

import io.grpc.NameResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    private static final class DirectoryResolver extends ReplicaResolver {
        private final Path serviceDir;
        private final ScheduledExecutorService timer;
        private ScheduledFuture<?> refresher;

        DirectoryResolver(Path serviceDir, String service, ScheduledExecutorService timer) {
            super(service);
            this.serviceDir = serviceDir;
            this.timer = timer;
        }

        @Override
        List<ShmAddress> replicas() {
            try (Stream<Path> files = Files.list(serviceDir)) {
                return files.filter(p -> p.getFileName().toString().endsWith(".sock")).sorted().map(ShmAddress::new)
                        .toList();
            } catch (IOException e) {
                return List.of(); // no directory yet: no replica
            }
        }

        @Override
        String whyNone() {
            return "no *.sock in " + serviceDir;
        }

        @Override
        public void start(Listener2 listener) {
            super.start(listener);
            refresher = timer.scheduleWithFixedDelay(this::resolve, REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void refresh() {
            timer.execute(this::resolve);
        }

        @Override
        public synchronized void shutdown() {
            if (refresher != null) {
                refresher.cancel(false);
            }
        }
    }
}
