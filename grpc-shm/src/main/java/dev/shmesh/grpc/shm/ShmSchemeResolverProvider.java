package dev.shmesh.grpc.shm;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What every {@code shm:///<service>} resolver provider shares: the scheme, the parsing and checking of the service
 * name, the address type. Subclasses say where the replicas of a service come from.
 */
abstract class ShmSchemeResolverProvider extends NameResolverProvider {
    static final String SCHEME = "shm";
    private static final Pattern SERVICE = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}");

    /** The resolver of {@code service}'s replicas. */
    abstract NameResolver resolverFor(String service, NameResolver.Args args);

    @Override
    public final NameResolver newNameResolver(URI target, NameResolver.Args args) {
        if (!SCHEME.equals(target.getScheme())) {
            return null;
        }
        String path = target.getPath();
        String service = path == null ? "" : path.startsWith("/") ? path.substring(1) : path;
        if (!SERVICE.matcher(service).matches()) {
            throw new IllegalArgumentException("target=" + target + " must be shm:///<service> with a service name"
                    + " matching " + SERVICE.pattern());
        }
        return resolverFor(service, args);
    }

    @Override
    public final String getDefaultScheme() {
        return SCHEME;
    }

    @Override
    protected final boolean isAvailable() {
        return true;
    }

    @Override
    protected final int priority() {
        return 5;
    }

    @Override
    public final Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
        return List.of(ShmAddress.class);
    }
}
