package dev.shmesh.mesh;

import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the edge routes by: which mesh service owns a gRPC service name, and which owns an HTTP path prefix. Built
 * from the public services of a mesh file ({@link #of}) or from plain data ({@link #builder()}).
 *
 * <p>Lookups take untrusted request data: any string, null included, gives a result or empty, never an exception,
 * and they use no regular expressions: the HTTP lookup allocates nothing but its result, the gRPC lookups the
 * service name they cut from the path.
 *
 * <p>HTTP matching: the path is cut at the first {@code ?} or {@code #}; a prefix ending in {@code /} matches the
 * paths that start with it; a prefix without a trailing {@code /} matches itself and the paths below it ({@code /v1}
 * matches {@code /v1} and {@code /v1/x}, not {@code /v1x}); the longest matching prefix wins. A path that does not
 * start with {@code /}, or that has a {@code .} or {@code ..} segment (also percent-encoded, e.g. {@code %2e%2e}),
 * matches nothing: the service might normalise it into another route.
 *
 * <p>Immutable and thread-safe.
 */
public final class RouteTable {
    private static final int MAX_GRPC_NAME = 255;
    private static final int MAX_HTTP_PREFIX = 255;

    private final Map<String, String> grpc;
    private final Map<String, String> http;
    /** The HTTP prefixes, longest first, and their owners at the same index. */
    private final String[] prefixes;

    private final String[] prefixOwners;
    private final Set<String> services;

    private RouteTable(Map<String, String> grpc, Map<String, String> http) {
        this.grpc = Collections.unmodifiableMap(new TreeMap<>(grpc));
        this.http = Collections.unmodifiableMap(new TreeMap<>(http));
        this.prefixes = http.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                .toArray(String[]::new);
        this.prefixOwners = Arrays.stream(prefixes).map(http::get).toArray(String[]::new);
        TreeSet<String> all = new TreeSet<>(grpc.values());
        all.addAll(http.values());
        this.services = Collections.unmodifiableSet(all);
    }

    /**
     * The routes of the {@link Exposure#PUBLIC public} services among {@code services}; internal services are left
     * out.
     *
     * @throws IllegalArgumentException if two services claim one gRPC service or HTTP prefix, or a name or prefix is
     *     malformed (never for the services of a parsed {@link MeshFile})
     */
    public static RouteTable of(List<ServiceSpec> services) {
        Builder b = builder();
        for (ServiceSpec s : services) {
            if (!s.isPublic()) {
                continue;
            }
            for (String g : s.grpcServices()) {
                b.grpc(g, s.name());
            }
            for (String p : s.httpPrefixes()) {
                b.http(p, s.name());
            }
        }
        return b.build();
    }

    /** A builder for a table from plain data, e.g. what the gateway sends the edge over the control protocol. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The mesh service that serves the gRPC method at {@code path}, an HTTP/2 {@code :path} such as {@code
     * /shmesh.demo.v1.Demo/Echo}; empty when the path is malformed (see {@link #grpcServiceName}) or no public
     * service serves it.
     */
    public Optional<String> serviceForGrpcPath(String path) {
        int slash = grpcServiceEnd(path);
        if (slash < 0) {
            return Optional.empty();
        }
        return Optional.ofNullable(grpc.get(path.substring(1, slash)));
    }

    /**
     * The full gRPC service name in {@code path}, e.g. {@code shmesh.demo.v1.Demo} for {@code
     * /shmesh.demo.v1.Demo/Echo}, whether or not the table routes it. The path must be exactly {@code /} + service +
     * {@code /} + method, both non-empty, the service of {@code [A-Za-z0-9_.]}, the method of {@code [A-Za-z0-9_]};
     * anything else is empty.
     */
    public Optional<String> grpcServiceName(String path) {
        int slash = grpcServiceEnd(path);
        return slash < 0 ? Optional.empty() : Optional.of(path.substring(1, slash));
    }

    /**
     * The mesh service that owns the longest HTTP prefix matching {@code rawPath} (a request target's path, query
     * string allowed), or empty; see the class comment for the rules.
     */
    public Optional<String> serviceForHttpPath(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return Optional.empty();
        }
        int end = pathEnd(rawPath);
        if (hasDotSegment(rawPath, end)) {
            return Optional.empty();
        }
        for (int i = 0; i < prefixes.length; i++) {
            if (matches(prefixes[i], rawPath, end)) {
                return Optional.of(prefixOwners[i]);
            }
        }
        return Optional.empty();
    }

    /** Every routed gRPC service name, sorted. */
    public Set<String> grpcServices() {
        return grpc.keySet();
    }

    /** gRPC service name to mesh service, sorted by name. */
    public Map<String, String> grpcRoutes() {
        return grpc;
    }

    /** HTTP prefix to mesh service, sorted by prefix. */
    public Map<String, String> httpRoutes() {
        return http;
    }

    /** Every mesh service the table routes to, sorted. */
    public Set<String> services() {
        return services;
    }

    @Override
    public String toString() {
        return "RouteTable[grpc=" + grpc + ", http=" + http + "]";
    }

    /** Whether {@code prefix} matches the path {@code path[0, end)}. */
    static boolean matches(String prefix, String path, int end) {
        int n = prefix.length();
        if (n > end || !path.regionMatches(0, prefix, 0, n)) {
            return false;
        }
        return prefix.charAt(n - 1) == '/' || n == end || path.charAt(n) == '/';
    }

    /** Where the path part of a request target ends: at the first {@code ?} or {@code #}. */
    static int pathEnd(String rawPath) {
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c == '?' || c == '#') {
                return i;
            }
        }
        return rawPath.length();
    }

    /** Whether {@code path[0, end)} has a segment that is {@code .} or {@code ..}, literally or percent-encoded. */
    static boolean hasDotSegment(String path, int end) {
        int start = 0;
        while (start < end) {
            int slash = path.indexOf('/', start);
            int segEnd = slash < 0 || slash > end ? end : slash;
            if (isDotSegment(path, start, segEnd)) {
                return true;
            }
            start = segEnd + 1;
        }
        return false;
    }

    private static boolean isDotSegment(String s, int from, int to) {
        int dots = 0;
        int i = from;
        while (i < to) {
            if (s.charAt(i) == '.') {
                i++;
            } else if (i + 3 <= to
                    && s.charAt(i) == '%'
                    && s.charAt(i + 1) == '2'
                    && (s.charAt(i + 2) == 'e' || s.charAt(i + 2) == 'E')) {
                i += 3;
            } else {
                return false;
            }
            if (++dots > 2) {
                return false;
            }
        }
        return dots > 0;
    }

    /**
     * The index of the slash between service and method in a well-formed gRPC path, or -1: {@code /} + service of
     * {@code [A-Za-z0-9_.]+} + {@code /} + method of {@code [A-Za-z0-9_]+}, nothing else.
     */
    static int grpcServiceEnd(String path) {
        if (path == null || path.length() < 4 || path.charAt(0) != '/') {
            return -1;
        }
        int i = 1;
        while (i < path.length() && isGrpcServiceChar(path.charAt(i))) {
            i++;
        }
        if (i == 1 || i >= path.length() - 1 || path.charAt(i) != '/') {
            return -1;
        }
        for (int j = i + 1; j < path.length(); j++) {
            if (!isMethodChar(path.charAt(j))) {
                return -1;
            }
        }
        return i;
    }

    private static boolean isMethodChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private static boolean isGrpcServiceChar(char c) {
        return isMethodChar(c) || c == '.';
    }

    /**
     * Whether {@code name} is a full gRPC (protobuf) service name: dot-separated identifiers {@code
     * [A-Za-z_][A-Za-z0-9_]*}, at most 255 characters.
     */
    static boolean isGrpcServiceName(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_GRPC_NAME) {
            return false;
        }
        boolean identStart = true;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '.') {
                if (identStart) {
                    return false;
                }
                identStart = true;
            } else if (identStart) {
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')) {
                    return false;
                }
                identStart = false;
            } else if (!isMethodChar(c)) {
                return false;
            }
        }
        return !identStart;
    }

    /**
     * Why {@code prefix} is not a valid HTTP route prefix, or null when it is: it starts with {@code /}, has only
     * RFC 3986 path characters except {@code %} ({@code A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ /}), no
     * {@code //}, no {@code .} or {@code ..} segment, at most 255 characters. So two prefixes that name the same
     * paths are the same string.
     */
    static String httpPrefixProblem(String prefix) {
        if (prefix == null || prefix.isEmpty() || prefix.charAt(0) != '/') {
            return "must start with '/'";
        }
        if (prefix.length() > MAX_HTTP_PREFIX) {
            return "is longer than " + MAX_HTTP_PREFIX + " characters";
        }
        for (int i = 0; i < prefix.length(); i++) {
            char c = prefix.charAt(i);
            if (c == '?' || c == '#') {
                return "must not contain '" + c + "' (a prefix matches the path, never the query or fragment)";
            }
            if (c == '%') {
                return "must not contain '%' (write the characters themselves, not percent-encoded)";
            }
            if (!isPathChar(c)) {
                return "contains " + describe(c) + ", which is not allowed in a URL path";
            }
        }
        if (prefix.contains("//")) {
            return "must not contain '//'";
        }
        if (hasDotSegment(prefix, prefix.length())) {
            return "must not contain a '.' or '..' segment";
        }
        return null;
    }

    private static boolean isPathChar(char c) {
        return (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || "-._~!$&'()*+,;=:@/".indexOf(c) >= 0;
    }

    static String describe(char c) {
        if (c > ' ' && c < 0x7f) {
            return "'" + c + "'";
        }
        return String.format("U+%04X", (int) c);
    }

    /** Builds a {@link RouteTable} from plain data. Not thread-safe. */
    public static final class Builder {
        private final Map<String, String> grpc = new TreeMap<>();
        private final Map<String, String> http = new TreeMap<>();

        private Builder() {}

        /**
         * Routes the gRPC service {@code fullServiceName} (e.g. {@code shmesh.demo.v1.Demo}) to {@code meshService}.
         *
         * @throws IllegalArgumentException if either name is malformed or another service already owns it
         */
        public Builder grpc(String fullServiceName, String meshService) {
            if (!isGrpcServiceName(fullServiceName)) {
                throw new IllegalArgumentException("not a full gRPC service name: fullServiceName=" + fullServiceName);
            }
            claim(grpc, "gRPC service", fullServiceName, meshService);
            return this;
        }

        /**
         * Routes the HTTP prefix {@code prefix} (e.g. {@code /v1/}) to {@code meshService}.
         *
         * @throws IllegalArgumentException if the prefix or name is malformed or another service already owns it
         */
        public Builder http(String prefix, String meshService) {
            String problem = httpPrefixProblem(prefix);
            if (problem != null) {
                throw new IllegalArgumentException("HTTP prefix " + problem + ": prefix=" + prefix);
            }
            claim(http, "HTTP prefix", prefix, meshService);
            return this;
        }

        private static void claim(Map<String, String> routes, String what, String key, String meshService) {
            if (!MeshFileParser.SERVICE_NAME
                    .matcher(meshService == null ? "" : meshService)
                    .matches()) {
                throw new IllegalArgumentException("not a mesh service name: meshService=" + meshService);
            }
            String owner = routes.putIfAbsent(key, meshService);
            if (owner != null && !owner.equals(meshService)) {
                throw new IllegalArgumentException(what + " claimed by two services: " + what + "=" + key
                        + ", services=" + owner + "," + meshService);
            }
        }

        /** The table. The builder may be used on. */
        public RouteTable build() {
            return new RouteTable(grpc, http);
        }
    }
}
