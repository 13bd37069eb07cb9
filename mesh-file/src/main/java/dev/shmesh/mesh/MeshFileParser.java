package dev.shmesh.mesh;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.Inet6Address;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.composer.ComposerException;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.NodeEvent;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.Parser;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads {@code shmesh.yaml} into a {@link MeshFile}: snakeyaml composes the YAML into a node tree (no objects are
 * constructed from it), and this class walks the tree in file order, checking every key and value against the format
 * of {@code docs/mesh-file.md}. The first error stops it; every error carries the line and column of its node.
 *
 * <p>Refused before any walking: more than {@link MeshFile#MAX_BYTES}, bytes that are not UTF-8, YAML syntax
 * errors, more or fewer than one document, anchors and aliases (so no "billion laughs"), explicit tags, nesting
 * deeper than {@link #MAX_DEPTH}.
 *
 * <p>Types follow YAML's own resolution: an integer is a plain decimal integer ({@code 8080}, not {@code "8080"},
 * {@code 0x1f} or {@code 1_000}); a string is a quoted scalar or a plain one that YAML does not read as a number,
 * boolean or null ({@code yes} and {@code 8080} need quotes where a string is expected).
 */
final class MeshFileParser {
    static final Pattern MESH_NAME = Pattern.compile("[a-z0-9][a-z0-9_.]{0,30}");
    static final Pattern SERVICE_NAME = Pattern.compile("[a-z][a-z0-9-]{0,30}");
    static final Pattern LISTENER_NAME = SERVICE_NAME;
    static final Pattern SYSCALL = Pattern.compile("[a-z0-9_]{1,64}");
    static final Pattern ENV_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    static final Pattern HEAP = Pattern.compile("([0-9]{1,19})([kKmMgG])");
    static final Pattern MEMORY = Pattern.compile("([0-9]{1,19})(Ki|Mi|Gi)?");
    static final Pattern INTEGER = Pattern.compile("0|-?[1-9][0-9]*");
    static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?");
    static final Pattern IPV4 = Pattern.compile(
            "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    static final Set<String> RESERVED_SERVICE_NAMES = Set.of("edge", "gateway", "broker");
    static final String RESERVED_ENV_PREFIX = "SHMESH_";
    static final int MAX_REPLICAS = 64;
    static final int MAX_PIDS = 1_000_000;
    static final int MAX_CPUS = 1024;
    /** The deepest nesting of collections accepted; the format nests 5 deep (services, sandbox, paths). */
    static final int MAX_DEPTH = 16;

    static final List<String> ROOT_KEYS = List.of("mesh", "listeners", "edge", "services");
    static final List<String> LISTENER_KEYS = List.of("name", "address", "port", "protocols");
    static final List<String> EDGE_KEYS = List.of("replicas");
    static final List<String> SERVICE_KEYS = List.of(
            "name",
            "artifact",
            "replicas",
            "exposure",
            "grpc",
            "http",
            "calls",
            "listen",
            "sandbox",
            "resources",
            "env");
    static final List<String> SANDBOX_KEYS = List.of("syscalls", "paths");
    static final List<String> RESOURCES_KEYS = List.of("heap", "memory", "pids", "cpus");

    private static final String DOCS = "see docs/mesh-file.md";
    /** The problem reported when snakeyaml fails in a way it does not document. */
    static final String UNEXPECTED = "the YAML reader failed here";

    private final Path source;
    private final Path baseDir;
    /** Per service name, the value nodes of the keys that the cross-reference checks point at. */
    private final Map<String, Map<String, Node>> serviceValueNodes = new HashMap<>();

    private MeshFileParser(Path source) {
        this.source = source;
        Path dir = source == null ? null : source.toAbsolutePath().getParent();
        this.baseDir = dir != null ? dir : Path.of("").toAbsolutePath();
    }

    // ---- entry points -------------------------------------------------------------------------------------------

    static MeshFile parse(Path file) throws MeshFileException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MeshFile.MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new MeshFileException(
                    file, 0, 0, "", "no such file", "create it, or name another one (./shmesh up -f PATH)");
        } catch (AccessDeniedException e) {
            throw new MeshFileException(file, 0, 0, "", "permission denied", "make it readable for this user");
        } catch (IOException e) {
            throw new MeshFileException(file, 0, 0, "", "cannot be read: " + e.getMessage(), "");
        }
        return parse(bytes, file);
    }

    /** Decodes {@code bytes} as UTF-8 (refusing malformed input; a leading BOM is skipped) and parses them. */
    static MeshFile parse(byte[] bytes, Path source) throws MeshFileException {
        if (bytes.length > MeshFile.MAX_BYTES) {
            throw tooLarge(source);
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            out.flip();
            int[] lineColumn = lineColumn(out, out.length());
            throw new MeshFileException(
                    source,
                    lineColumn[0],
                    lineColumn[1],
                    "",
                    "not UTF-8: malformed byte sequence at byte offset " + in.position(),
                    "save the file as UTF-8");
        }
        out.flip();
        return parse(out.toString(), source);
    }

    static MeshFile parse(String yaml, Path source) throws MeshFileException {
        if (yaml == null) {
            throw new MeshFileException(source, 0, 0, "", "no text", "");
        }
        if (utf8Length(yaml) > MeshFile.MAX_BYTES) {
            throw tooLarge(source);
        }
        if (!yaml.isEmpty() && yaml.charAt(0) == '\uFEFF') {
            yaml = yaml.substring(1);
        }
        MeshFileParser parser = new MeshFileParser(source);
        return parser.walkRoot(parser.compose(yaml));
    }

    private static MeshFileException tooLarge(Path source) {
        return new MeshFileException(
                source,
                0,
                0,
                "",
                "the file is larger than 1 MiB (" + MeshFile.MAX_BYTES + " bytes), the limit for a mesh file",
                "is this the right file? A mesh of a hundred services fits in a few hundred lines");
    }

    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return n;
    }

    // ---- YAML -> nodes ------------------------------------------------------------------------------------------

    /** Thrown out of the snakeyaml parser's callbacks, which cannot throw checked exceptions. */
    private static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refusal(MeshFileException cause) {
            super(cause.getMessage(), cause, false, false);
        }

        @Override
        public synchronized MeshFileException getCause() {
            return (MeshFileException) super.getCause();
        }
    }

    /** Passes the parser's events through, refusing anchors, aliases and explicit tags where they appear. */
    private final class RefusingParser implements Parser {
        private final Parser delegate;

        RefusingParser(Parser delegate) {
            this.delegate = delegate;
        }

        @Override
        public boolean checkEvent(Event.ID choice) {
            return delegate.checkEvent(choice);
        }

        @Override
        public Event peekEvent() {
            return check(delegate.peekEvent());
        }

        @Override
        public Event getEvent() {
            return check(delegate.getEvent());
        }

        private Event check(Event event) {
            if (event instanceof AliasEvent) {
                throw new Refusal(error(
                        event.getStartMark(),
                        "",
                        "aliases (*name) are not allowed in a mesh file",
                        "write the value out where it is needed"));
            }
            if (event instanceof NodeEvent node && node.getAnchor() != null) {
                throw new Refusal(error(
                        event.getStartMark(),
                        "",
                        "anchors (&" + clip(node.getAnchor()) + ") are not allowed in a mesh file",
                        "remove the anchor and write values out where they are needed"));
            }
            String tag = event instanceof ScalarEvent s
                    ? s.getTag()
                    : event instanceof CollectionStartEvent c ? c.getTag() : null;
            if (tag != null) {
                throw new Refusal(error(
                        event.getStartMark(),
                        "",
                        "tags (" + clip(tag) + ") are not allowed in a mesh file",
                        "remove the tag; quote a value to make it a string"));
            }
            return event;
        }
    }

    private Node compose(String yaml) throws MeshFileException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false); // for the record: composing keeps duplicates, the walk refuses them
        options.setMaxAliasesForCollections(0);
        options.setAllowRecursiveKeys(false);
        options.setMergeOnCompose(false);
        options.setProcessComments(false);
        options.setNestingDepthLimit(MAX_DEPTH);
        options.setCodePointLimit(MeshFile.MAX_BYTES);
        StreamReader reader = new StreamReader(yaml);
        Composer composer = new Composer(new RefusingParser(new ParserImpl(reader, options)), new Resolver(), options);
        Node root;
        try {
            root = composer.getSingleNode();
        } catch (Refusal r) {
            throw r.getCause();
        } catch (ComposerException e) {
            if (e.getProblem() != null && e.getProblem().contains("another document")) {
                throw error(
                        e.getProblemMark(),
                        "",
                        "a second YAML document; a mesh file is exactly one",
                        "remove this '---' (or '...') and what follows, or merge it into the first document");
            }
            throw syntaxError(e);
        } catch (MarkedYAMLException e) {
            throw syntaxError(e);
        } catch (ReaderException e) {
            int[] lc = lineColumnOfCodePoint(yaml, e.getPosition());
            throw new MeshFileException(
                    source,
                    lc[0],
                    lc[1],
                    "",
                    "the character " + codePoint(e.getCodePoint()) + " is not allowed in YAML",
                    "remove it; to put control characters in a value, use a double-quoted escape such as \\t");
        } catch (NumberFormatException e) {
            // snakeyaml 2.5 parses the hex digits of an escape (backslash and x, u or U) without checking that there
            // are enough of them or that they fit an int: a backslash-x at the end of the text, or a backslash-U of
            // FFFFFFFF (found by MeshFileFuzzTest)
            throw new MeshFileException(
                    source,
                    reader.getLine() + 1,
                    reader.getColumn() + 1,
                    "",
                    "YAML syntax: an escape sequence in a double-quoted string is cut short or out of range",
                    "write \\x and two hex digits, \\u and four or \\U and eight (at most \\U0010FFFF)");
        } catch (YAMLException e) {
            // the limits (nesting depth, size) are reported without a mark: use where the reader stopped
            String problem = e.getMessage() == null ? "not valid YAML" : e.getMessage();
            String hint = "";
            if (problem.startsWith("Nesting Depth exceeded")) {
                problem = "nested deeper than " + MAX_DEPTH + " levels";
                hint = "the mesh file format nests 5 levels deep; " + DOCS;
            }
            throw new MeshFileException(source, reader.getLine() + 1, reader.getColumn() + 1, "", problem, hint);
        } catch (RuntimeException e) {
            // any other failure inside snakeyaml is its bug, not the file's fault alone; the user still gets a place
            // and a message instead of a stack trace (MeshFileFuzzTest counts this one as a finding)
            throw new MeshFileException(
                    source,
                    reader.getLine() + 1,
                    reader.getColumn() + 1,
                    "",
                    UNEXPECTED + " (" + e.getClass().getName() + ": " + clip(String.valueOf(e.getMessage())) + ")",
                    "check the YAML near here; please report this message to the shmesh developers");
        }
        if (root == null) {
            throw new MeshFileException(
                    source,
                    0,
                    0,
                    "",
                    "the file has no YAML document",
                    "a mesh file needs at least 'services:'; " + DOCS);
        }
        return root;
    }

    private MeshFileException syntaxError(MarkedYAMLException e) {
        Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
        StringBuilder problem = new StringBuilder("YAML syntax: ");
        problem.append(e.getProblem() != null ? e.getProblem() : "not valid YAML");
        if (e.getContext() != null) {
            problem.append(" (").append(e.getContext());
            Mark context = e.getContextMark();
            if (context != null && mark != null && context.getLine() != mark.getLine()) {
                problem.append(" at line ").append(context.getLine() + 1);
            }
            problem.append(')');
        }
        return error(mark, "", oneLine(problem.toString()), "check the indentation, colons and quotes here");
    }

    // ---- nodes -> model -----------------------------------------------------------------------------------------

    private MeshFile walkRoot(Node root) throws MeshFileException {
        String[] mesh = {"default"};
        List<Listener> listeners = new ArrayList<>(List.of(Listener.DEFAULT));
        Edge[] edge = {Edge.DEFAULT};
        List<ServiceSpec> services = new ArrayList<>();
        Map<String, Node> keys = fields(root, "", "the document", ROOT_KEYS, (key, keyNode, value) -> {
            switch (key) {
                case "mesh" -> mesh[0] = name(value, "mesh", MESH_NAME, "[a-z0-9][a-z0-9_.]{0,30}");
                case "listeners" -> {
                    listeners.clear();
                    listeners(value, listeners);
                }
                case "edge" -> edge[0] = edge(value);
                case "services" -> services(value, services);
                default -> throw new IllegalStateException(key);
            }
        });
        if (!keys.containsKey("services")) {
            throw missing(root, "", "services", "list the services of the mesh under 'services:'; " + DOCS);
        }
        checkCalls(services);
        checkListenPorts(listeners, services);
        return new MeshFile(mesh[0], listeners, edge[0], services, source);
    }

    private void listeners(Node value, List<Listener> out) throws MeshFileException {
        List<Node> items = sequence(value, "listeners");
        if (items.isEmpty()) {
            throw error(
                    value,
                    "listeners",
                    "the list is empty",
                    "list at least one listener, or remove 'listeners:' for the default (127.0.0.1:8080)");
        }
        Map<String, String> names = new HashMap<>();
        // per port, the listeners by canonical address: a clash is found without comparing every pair
        Map<Integer, Map<String, Listener>> bound = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            String path = "listeners[" + i + "]";
            Node item = items.get(i);
            String[] name = {null};
            String[] address = {null};
            Node[] addressNode = {null};
            int[] port = {0};
            Set<Protocol> protocols = EnumSet.allOf(Protocol.class);
            Map<String, Node> keys = fields(item, path, "a listener", LISTENER_KEYS, (key, keyNode, v) -> {
                String p = path + "." + key;
                switch (key) {
                    case "name" -> {
                        name[0] = name(v, p, LISTENER_NAME, "[a-z][a-z0-9-]{0,30}");
                        String first = names.putIfAbsent(name[0], p);
                        if (first != null) {
                            throw error(
                                    v,
                                    p,
                                    "listener name " + quote(name[0]) + " is used twice",
                                    "give each listener its own name");
                        }
                    }
                    case "address" -> {
                        address[0] = address(v, p);
                        addressNode[0] = v;
                    }
                    case "port" -> port[0] = (int) integer(v, p, 1, 65535);
                    case "protocols" -> protocols(v, p, protocols);
                    default -> throw new IllegalStateException(key);
                }
            });
            requireKeys(item, path, keys, "name", "address", "port");
            Listener listener = new Listener(name[0], address[0], port[0], protocols);
            Map<String, Listener> onPort = bound.computeIfAbsent(port[0], p -> new HashMap<>());
            String canonical = canonical(address[0]);
            Listener other = clash(onPort, canonical);
            if (other != null) {
                throw error(
                        addressNode[0],
                        path + ".address",
                        address[0] + ":" + port[0] + " is already taken by listener " + quote(other.name()) + " ("
                                + other.address() + ":" + other.port() + ")",
                        "two listeners cannot bind the same port on overlapping addresses; change the port");
            }
            onPort.put(canonical, listener);
            out.add(listener);
        }
    }

    private void protocols(Node value, String path, Set<Protocol> out) throws MeshFileException {
        List<Node> items = sequence(value, path);
        out.clear();
        if (items.isEmpty()) {
            throw error(value, path, "the list is empty", "list at least one of http1, h2c, grpc, or remove the key");
        }
        for (int i = 0; i < items.size(); i++) {
            String p = path + "[" + i + "]";
            Node item = items.get(i);
            String s = string(item, p);
            Protocol protocol = Protocol.ofSpelling(s)
                    .orElseThrow(() -> error(item, p, quote(s) + " is not one of: http1, h2c, grpc", ""));
            if (!out.add(protocol)) {
                throw error(item, p, quote(s) + " is listed twice", "list each protocol once");
            }
        }
    }

    private Edge edge(Node value) throws MeshFileException {
        int[] replicas = {Edge.DEFAULT.replicas()};
        fields(value, "edge", "the edge", EDGE_KEYS, (key, keyNode, v) -> {
            if (key.equals("replicas")) {
                replicas[0] = (int) integer(v, "edge.replicas", 1, MAX_REPLICAS);
            }
        });
        return new Edge(replicas[0]);
    }

    private void services(Node value, List<ServiceSpec> out) throws MeshFileException {
        List<Node> items = sequence(value, "services");
        if (items.isEmpty()) {
            throw error(value, "services", "the list is empty", "a mesh has at least one service; " + DOCS);
        }
        Map<String, String> names = new HashMap<>();
        Map<String, String> grpcOwners = new HashMap<>();
        Map<String, String> httpOwners = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            out.add(service(items.get(i), "services[" + i + "]", names, grpcOwners, httpOwners));
        }
    }

    private ServiceSpec service(
            Node item,
            String path,
            Map<String, String> names,
            Map<String, String> grpcOwners,
            Map<String, String> httpOwners)
            throws MeshFileException {
        String[] name = {null};
        Path[] artifact = {null};
        int[] replicas = {1};
        Exposure[] exposure = {Exposure.INTERNAL};
        List<String> grpc = new ArrayList<>();
        List<Node> grpcNodes = new ArrayList<>();
        List<String> http = new ArrayList<>();
        List<Node> httpNodes = new ArrayList<>();
        List<String> calls = new ArrayList<>();
        OptionalInt[] listen = {OptionalInt.empty()};
        SandboxSpec[] sandbox = {SandboxSpec.NONE};
        Resources[] resources = {Resources.NONE};
        Map<String, String> env = new LinkedHashMap<>();
        Map<String, Node> keys = fields(item, path, "a service", SERVICE_KEYS, (key, keyNode, v) -> {
            String p = path + "." + key;
            switch (key) {
                case "name" -> {
                    String n = name(v, p, SERVICE_NAME, "[a-z][a-z0-9-]{0,30}");
                    if (RESERVED_SERVICE_NAMES.contains(n)) {
                        throw error(
                                v,
                                p,
                                quote(n) + " is reserved (edge, gateway and broker are the mesh's own processes)",
                                "choose another name");
                    }
                    String first = names.putIfAbsent(n, path);
                    if (first != null) {
                        throw error(
                                v,
                                p,
                                "service " + quote(n) + " is already declared at " + first,
                                "give each service its own name");
                    }
                    name[0] = n;
                }
                case "artifact" -> artifact[0] = artifact(v, p);
                case "replicas" -> replicas[0] = (int) integer(v, p, 1, MAX_REPLICAS);
                case "exposure" -> {
                    String s = string(v, p);
                    exposure[0] = Exposure.ofSpelling(s)
                            .orElseThrow(() -> error(v, p, quote(s) + " is not one of: public, internal", ""));
                }
                case "grpc" ->
                    strings(v, p, grpc, grpcNodes, (s, n, ip) -> {
                        if (!RouteTable.isGrpcServiceName(s)) {
                            throw error(
                                    n,
                                    ip,
                                    quote(s) + " is not a full gRPC service name",
                                    "write package and service as in the .proto file, e.g. shmesh.demo.v1.Demo");
                        }
                    });
                case "http" ->
                    strings(v, p, http, httpNodes, (s, n, ip) -> {
                        String problem = RouteTable.httpPrefixProblem(s);
                        if (problem != null) {
                            throw error(
                                    n,
                                    ip,
                                    "HTTP prefix " + quote(s) + " " + problem,
                                    "write a path prefix such as /v1/");
                        }
                    });
                case "calls" ->
                    strings(v, p, calls, new ArrayList<>(), (s, n, ip) -> {
                        if (!SERVICE_NAME.matcher(s).matches()) {
                            throw error(n, ip, quote(s) + " is not a service name", "name a service of this mesh file");
                        }
                    });
                case "listen" -> listen[0] = OptionalInt.of((int) integer(v, p, 1, 65535));
                case "sandbox" -> sandbox[0] = sandbox(v, p);
                case "resources" -> resources[0] = resources(v, p);
                case "env" -> env(v, p, env);
                default -> throw new IllegalStateException(key);
            }
        });
        requireKeys(item, path, keys, "name", "artifact");
        if (exposure[0] == Exposure.INTERNAL) {
            for (String key : List.of("http", "listen")) {
                Node keyNode = keys.get(key);
                if (keyNode != null) {
                    throw error(
                            keyNode,
                            path + "." + key,
                            "an internal service has no "
                                    + (key.equals("http") ? "HTTP routes" : "listener of its own"),
                            "add 'exposure: public' to route to it from outside, or remove '" + key + "'");
                }
            }
        }
        for (int i = 0; i < grpc.size(); i++) {
            String owner = grpcOwners.putIfAbsent(grpc.get(i), name[0]);
            if (owner != null) {
                throw error(
                        grpcNodes.get(i),
                        path + ".grpc[" + i + "]",
                        "gRPC service " + quote(grpc.get(i)) + " is already served by service " + quote(owner),
                        "each gRPC service belongs to one mesh service; remove it from one of them");
            }
        }
        for (int i = 0; i < http.size(); i++) {
            String owner = httpOwners.putIfAbsent(http.get(i), name[0]);
            if (owner != null) {
                throw error(
                        httpNodes.get(i),
                        path + ".http[" + i + "]",
                        "HTTP prefix " + quote(http.get(i)) + " is already routed to service " + quote(owner),
                        "each prefix routes to one service; use a longer prefix for one of them");
            }
        }
        ServiceSpec spec = new ServiceSpec(
                name[0],
                artifact[0],
                replicas[0],
                exposure[0],
                grpc,
                http,
                calls,
                listen[0],
                sandbox[0],
                resources[0],
                env);
        serviceValueNodes.put(name[0], valueNodes(item));
        return spec;
    }

    private Path artifact(Node v, String path) throws MeshFileException {
        String s = string(v, path);
        if (s.isBlank()) {
            throw error(
                    v,
                    path,
                    "the path is empty",
                    "name the service's jar, e.g. demo/target/quarkus-app/quarkus-run.jar");
        }
        if (s.indexOf('\0') >= 0) {
            throw error(v, path, "the path contains a NUL character", "");
        }
        Path p;
        try {
            p = Path.of(s);
        } catch (InvalidPathException e) {
            throw error(v, path, quote(s) + " is not a valid path: " + e.getReason(), "");
        }
        Path fileName = p.getFileName();
        if (fileName == null || !fileName.toString().endsWith(".jar")) {
            throw error(
                    v,
                    path,
                    quote(s) + " is not a jar (its name must end in .jar)",
                    "name the service's runnable jar, e.g. target/quarkus-app/quarkus-run.jar");
        }
        return baseDir.resolve(p).toAbsolutePath().normalize();
    }

    private SandboxSpec sandbox(Node value, String path) throws MeshFileException {
        List<String> syscalls = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        fields(value, path, "a sandbox", SANDBOX_KEYS, (key, keyNode, v) -> {
            String p = path + "." + key;
            if (key.equals("syscalls")) {
                strings(v, p, syscalls, new ArrayList<>(), (s, n, ip) -> {
                    if (!SYSCALL.matcher(s).matches()) {
                        throw error(
                                n,
                                ip,
                                quote(s) + " is not a syscall name ([a-z0-9_]+)",
                                "write it as in man 2 syscalls, e.g. io_uring_setup");
                    }
                });
            } else {
                List<String> texts = new ArrayList<>();
                Set<Path> seen = new LinkedHashSet<>();
                strings(v, p, texts, new ArrayList<>(), (s, n, ip) -> {
                    Path bind = sandboxPath(s, n, ip);
                    if (!seen.add(bind)) {
                        throw error(n, ip, quote(s) + " is listed twice", "list each path once");
                    }
                });
                paths.addAll(seen);
            }
        });
        return new SandboxSpec(syscalls, paths);
    }

    private Path sandboxPath(String s, Node n, String path) throws MeshFileException {
        if (!s.startsWith("/")) {
            throw error(n, path, quote(s) + " is not an absolute path", "write it from the root, e.g. /etc/ssl/certs");
        }
        if (s.indexOf('\0') >= 0) {
            throw error(n, path, "the path contains a NUL character", "");
        }
        for (String segment : s.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                throw error(n, path, quote(s) + " has a '" + segment + "' segment", "write the path without . and ..");
            }
        }
        Path p;
        try {
            p = Path.of(s).normalize();
        } catch (InvalidPathException e) {
            throw error(n, path, quote(s) + " is not a valid path: " + e.getReason(), "");
        }
        if (p.getNameCount() == 0) {
            throw error(
                    n,
                    path,
                    "the whole file system cannot be bound into a sandbox",
                    "name the directories the service needs, e.g. /etc/ssl/certs");
        }
        return p;
    }

    private Resources resources(Node value, String path) throws MeshFileException {
        OptionalLong[] heap = {OptionalLong.empty()};
        OptionalLong[] memory = {OptionalLong.empty()};
        OptionalInt[] pids = {OptionalInt.empty()};
        OptionalDouble[] cpus = {OptionalDouble.empty()};
        fields(value, path, "resources", RESOURCES_KEYS, (key, keyNode, v) -> {
            String p = path + "." + key;
            switch (key) {
                case "heap" -> heap[0] = OptionalLong.of(heap(v, p));
                case "memory" -> memory[0] = OptionalLong.of(memory(v, p));
                case "pids" -> pids[0] = OptionalInt.of((int) integer(v, p, 1, MAX_PIDS));
                case "cpus" -> cpus[0] = OptionalDouble.of(cpus(v, p));
                default -> throw new IllegalStateException(key);
            }
        });
        return new Resources(heap[0], memory[0], pids[0], cpus[0]);
    }

    private long heap(Node v, String path) throws MeshFileException {
        if (isScalar(v, Tag.INT)) {
            throw error(v, path, "a heap size needs a unit", "write it like -Xmx: digits and k, m or g, e.g. 256m");
        }
        String s = string(v, path);
        Matcher m = HEAP.matcher(s);
        if (!m.matches()) {
            throw error(
                    v, path, quote(s) + " is not a heap size", "write it like -Xmx: digits and k, m or g, e.g. 256m");
        }
        int shift =
                switch (Character.toLowerCase(m.group(2).charAt(0))) {
                    case 'k' -> 10;
                    case 'm' -> 20;
                    default -> 30;
                };
        return sized(v, path, s, m.group(1), shift);
    }

    private long memory(Node v, String path) throws MeshFileException {
        if (isScalar(v, Tag.INT)) {
            String s = ((ScalarNode) v).getValue();
            if (!INTEGER.matcher(s).matches() || s.startsWith("-") || s.length() > 19) {
                throw error(
                        v,
                        path,
                        quote(s) + " is not a memory size",
                        "write bytes as decimal digits, or a quantity such as 512Mi");
            }
            return sized(v, path, s, s, 0);
        }
        String s = string(v, path);
        Matcher m = MEMORY.matcher(s);
        if (!m.matches()) {
            throw error(
                    v, path, quote(s) + " is not a memory size", "write bytes, or digits and Ki, Mi or Gi, e.g. 512Mi");
        }
        int shift = m.group(2) == null
                ? 0
                : switch (m.group(2)) {
                    case "Ki" -> 10;
                    case "Mi" -> 20;
                    default -> 30;
                };
        return sized(v, path, s, m.group(1), shift);
    }

    private long sized(Node v, String path, String text, String digits, int shift) throws MeshFileException {
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw error(v, path, quote(text) + " is too large", "");
        }
        if (n == 0) {
            throw error(v, path, "the size must be more than 0", "");
        }
        return n << shift;
    }

    private double cpus(Node v, String path) throws MeshFileException {
        String s = scalarText(v);
        boolean number = isScalar(v, Tag.INT) || isScalar(v, Tag.FLOAT);
        if (!number) {
            throw typeError(v, path, "a number");
        }
        if (!DECIMAL.matcher(s).matches()) {
            throw error(v, path, quote(s) + " is not a decimal number", "write it like 1 or 1.5");
        }
        BigDecimal d = new BigDecimal(s);
        if (d.signum() <= 0 || d.compareTo(BigDecimal.valueOf(MAX_CPUS)) > 0) {
            throw error(v, path, s + " is out of range: more than 0, at most " + MAX_CPUS, "");
        }
        return d.doubleValue();
    }

    private void env(Node value, String path, Map<String, String> out) throws MeshFileException {
        fields(value, path, "the environment", null, (key, keyNode, v) -> {
            String p = path + "." + key;
            if (!ENV_KEY.matcher(key).matches()) {
                throw error(
                        keyNode,
                        path,
                        quote(key) + " is not an environment variable name",
                        "use letters, digits and '_', not starting with a digit");
            }
            if (key.startsWith(RESERVED_ENV_PREFIX)) {
                throw error(
                        keyNode,
                        path,
                        quote(key) + ": the prefix SHMESH_ is reserved for what the mesh passes its services",
                        "choose another name");
            }
            String s = string(v, p);
            if (s.indexOf('\0') >= 0) {
                throw error(v, p, "the value contains a NUL character, which the environment cannot hold", "");
            }
            out.put(key, s);
        });
    }

    // ---- cross-references -----------------------------------------------------------------------------------------

    private void checkCalls(List<ServiceSpec> services) throws MeshFileException {
        Set<String> names = new LinkedHashSet<>();
        services.forEach(s -> names.add(s.name()));
        for (int i = 0; i < services.size(); i++) {
            ServiceSpec s = services.get(i);
            if (s.calls().isEmpty()) {
                continue;
            }
            List<Node> items = ((SequenceNode) serviceValueNodes.get(s.name()).get("calls")).getValue();
            for (int j = 0; j < s.calls().size(); j++) {
                String callee = s.calls().get(j);
                String p = "services[" + i + "].calls[" + j + "]";
                if (callee.equals(s.name())) {
                    throw error(
                            items.get(j), p, "a service does not call itself over the mesh", "remove " + quote(callee));
                }
                if (!names.contains(callee)) {
                    throw error(
                            items.get(j),
                            p,
                            "no service " + quote(callee) + " in this mesh file",
                            "the services are: " + String.join(", ", names));
                }
            }
        }
    }

    private void checkListenPorts(List<Listener> listeners, List<ServiceSpec> services) throws MeshFileException {
        Map<Integer, String> taken = new HashMap<>();
        for (Listener l : listeners) {
            taken.putIfAbsent(l.port(), "listener " + quote(l.name()));
        }
        for (int i = 0; i < services.size(); i++) {
            ServiceSpec s = services.get(i);
            if (s.listen().isPresent()) {
                int port = s.listen().getAsInt();
                String owner = taken.putIfAbsent(port, "service " + quote(s.name()));
                if (owner != null) {
                    throw error(
                            serviceValueNodes.get(s.name()).get("listen"),
                            "services[" + i + "].listen",
                            "port " + port + " is already taken by " + owner,
                            "choose another port");
                }
            }
        }
    }

    // ---- values -----------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface FieldHandler {
        void accept(String key, Node keyNode, Node value) throws MeshFileException;
    }

    @FunctionalInterface
    private interface ItemCheck {
        void check(String value, Node node, String path) throws MeshFileException;
    }

    /**
     * Walks a mapping in file order, refusing non-scalar and duplicate keys and keys not in {@code allowed} (any key
     * when null), and hands each entry to {@code handler}.
     *
     * @return the key nodes by key, in file order
     */
    private Map<String, Node> fields(Node node, String path, String what, List<String> allowed, FieldHandler handler)
            throws MeshFileException {
        if (!(node instanceof MappingNode mapping)) {
            throw typeError(
                    node,
                    path,
                    what.equals("the document")
                            ? "a mapping of keys (" + String.join(", ", ROOT_KEYS) + ")"
                            : "a mapping (key: value)");
        }
        Map<String, Node> keys = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node keyNode = tuple.getKeyNode();
            if (!(keyNode instanceof ScalarNode scalar)) {
                throw error(keyNode, path, "a key must be a plain word, not " + describe(keyNode), "");
            }
            String key = scalar.getValue();
            if (allowed != null && !allowed.contains(key)) {
                String suggestion = suggest(key, allowed);
                throw error(
                        keyNode,
                        path,
                        "unknown key " + quote(key) + " in " + what + "; allowed: " + String.join(", ", allowed),
                        suggestion == null ? DOCS : "did you mean '" + suggestion + "'?");
            }
            Node first = keys.putIfAbsent(key, keyNode);
            if (first != null) {
                throw error(
                        keyNode,
                        path,
                        "key " + quote(key) + " appears twice (first at line "
                                + (first.getStartMark().getLine() + 1) + ")",
                        "keep one of them");
            }
            handler.accept(key, keyNode, tuple.getValueNode());
        }
        return keys;
    }

    private static Map<String, Node> valueNodes(Node node) {
        Map<String, Node> values = new HashMap<>();
        if (node instanceof MappingNode mapping) {
            for (NodeTuple t : mapping.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k) {
                    values.putIfAbsent(k.getValue(), t.getValueNode());
                }
            }
        }
        return values;
    }

    private void requireKeys(Node mapping, String path, Map<String, Node> keys, String... required)
            throws MeshFileException {
        for (String key : required) {
            if (!keys.containsKey(key)) {
                throw missing(mapping, path, key, "");
            }
        }
    }

    private MeshFileException missing(Node mapping, String path, String key, String hint) {
        return error(
                mapping,
                path,
                "missing required key " + quote(key),
                hint.isEmpty() ? "add '" + key + ":'; " + DOCS : hint);
    }

    /** A list of strings, each checked, none twice; appends the strings and their nodes. */
    private void strings(Node value, String path, List<String> out, List<Node> nodes, ItemCheck check)
            throws MeshFileException {
        List<Node> items = sequence(value, path);
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < items.size(); i++) {
            String p = path + "[" + i + "]";
            Node item = items.get(i);
            String s = string(item, p);
            check.check(s, item, p);
            if (!seen.add(s)) {
                throw error(item, p, quote(s) + " is listed twice", "list each once");
            }
            out.add(s);
            nodes.add(item);
        }
    }

    private List<Node> sequence(Node value, String path) throws MeshFileException {
        if (value instanceof SequenceNode seq) {
            return seq.getValue();
        }
        throw typeError(value, path, "a list");
    }

    private String name(Node v, String path, Pattern pattern, String spelled) throws MeshFileException {
        String s = string(v, path);
        if (!pattern.matcher(s).matches()) {
            throw error(
                    v,
                    path,
                    quote(s) + " is not a valid name (" + spelled + ")",
                    "use lower-case letters, digits and '-', at most 31 characters");
        }
        return s;
    }

    private String address(Node v, String path) throws MeshFileException {
        String s = string(v, path);
        if (s.equals("localhost") || IPV4.matcher(s).matches()) {
            return s;
        }
        if (s.startsWith("[")) {
            throw error(v, path, quote(s) + ": write an IPv6 address without brackets", "e.g. address: \"::1\"");
        }
        if (s.indexOf(':') >= 0 && s.indexOf('%') < 0 && s.length() <= 45) {
            try {
                Inet6Address.ofLiteral(s);
                return s;
            } catch (IllegalArgumentException e) {
                // not an IPv6 literal: refused below
            }
        }
        throw error(
                v,
                path,
                quote(s) + " is not an IP address",
                "write an IPv4 or IPv6 literal (e.g. 127.0.0.1, 0.0.0.0, \"::1\") or localhost; host names are not"
                        + " resolved");
    }

    /**
     * The listener already bound on this port (by canonical address) that a listener at {@code canonical} could not be
     * bound beside: the same address, a wildcard and anything, {@code localhost} and a loopback address; or null.
     */
    private static Listener clash(Map<String, Listener> onPort, String canonical) {
        if (onPort.isEmpty()) {
            return null;
        }
        if (canonical.equals("*")) {
            return onPort.values().iterator().next();
        }
        for (String other :
                switch (canonical) {
                    case "localhost" -> List.of(canonical, "*", "127.0.0.1", "::1");
                    case "127.0.0.1", "::1" -> List.of(canonical, "*", "localhost");
                    default -> List.of(canonical, "*");
                }) {
            Listener l = onPort.get(other);
            if (l != null) {
                return l;
            }
        }
        return null;
    }

    private static String canonical(String address) {
        if (address.indexOf(':') < 0) {
            return address.equals("0.0.0.0") ? "*" : address;
        }
        try {
            var a = java.net.InetAddress.ofLiteral(address);
            if (a.isAnyLocalAddress()) {
                return "*";
            }
            if (a.isLoopbackAddress() && a instanceof Inet6Address) {
                return "::1";
            }
            return a.getHostAddress();
        } catch (IllegalArgumentException e) {
            return address;
        }
    }

    private long integer(Node v, String path, long min, long max) throws MeshFileException {
        if (!isScalar(v, Tag.INT)) {
            throw typeError(v, path, "an integer");
        }
        String s = ((ScalarNode) v).getValue();
        if (!INTEGER.matcher(s).matches()) {
            throw error(
                    v,
                    path,
                    quote(s) + " is not a decimal integer",
                    "write plain digits, e.g. 8080 (no 0x, leading 0 or _)");
        }
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            n = s.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        if (n < min || n > max) {
            throw error(v, path, s + " is out of range " + min + ".." + max, "");
        }
        return n;
    }

    private String string(Node v, String path) throws MeshFileException {
        if (!isScalar(v, Tag.STR)) {
            throw typeError(v, path, "a string");
        }
        return ((ScalarNode) v).getValue();
    }

    private static boolean isScalar(Node v, Tag tag) {
        return v instanceof ScalarNode && tag.equals(v.getTag());
    }

    private static String scalarText(Node v) {
        return v instanceof ScalarNode s ? s.getValue() : "";
    }

    private MeshFileException typeError(Node v, String path, String expected) {
        String hint = "";
        if (v instanceof ScalarNode s) {
            boolean plainNonString = !Tag.STR.equals(v.getTag());
            if (expected.equals("a string") && plainNonString && !Tag.NULL.equals(v.getTag())) {
                hint = "put it in quotes if you mean the text: \"" + clip(s.getValue()) + "\"";
            } else if (expected.equals("a string") && Tag.NULL.equals(v.getTag())) {
                hint = "give it a value, or remove the key";
            } else if (!expected.equals("a string")
                    && Tag.STR.equals(v.getTag())
                    && DECIMAL.matcher(s.getValue()).matches()) {
                hint = "write it without quotes: " + clip(s.getValue());
            } else if (Tag.NULL.equals(v.getTag())) {
                hint = "give it a value, or remove the key";
            }
        }
        return error(v, path, "expected " + expected + ", got " + describe(v), hint);
    }

    private static String describe(Node v) {
        if (v instanceof MappingNode) {
            return "a mapping";
        }
        if (v instanceof SequenceNode) {
            return "a list";
        }
        if (!(v instanceof ScalarNode s)) {
            return "a " + v.getNodeId();
        }
        Tag tag = s.getTag();
        String text = quote(s.getValue());
        if (Tag.STR.equals(tag)) {
            return "a string " + text;
        }
        if (Tag.INT.equals(tag)) {
            return "an integer " + clip(s.getValue());
        }
        if (Tag.FLOAT.equals(tag)) {
            return "a number " + clip(s.getValue());
        }
        if (Tag.BOOL.equals(tag)) {
            return "a boolean " + clip(s.getValue());
        }
        if (Tag.NULL.equals(tag)) {
            return "nothing (null)";
        }
        if (Tag.TIMESTAMP.equals(tag)) {
            return "a timestamp " + clip(s.getValue());
        }
        return text;
    }

    // ---- errors and text ------------------------------------------------------------------------------------------

    private MeshFileException error(Node node, String path, String problem, String hint) {
        return error(node == null ? null : node.getStartMark(), path, problem, hint);
    }

    private MeshFileException error(Mark mark, String path, String problem, String hint) {
        int line = mark == null ? 0 : mark.getLine() + 1;
        int column = mark == null ? 0 : mark.getColumn() + 1;
        return new MeshFileException(source, line, column, path, problem, hint);
    }

    /** A value as it appears in a message: quoted, clipped to 60 characters, control characters escaped. */
    static String quote(String s) {
        return "'" + clip(s) + "'";
    }

    static String clip(String s) {
        StringBuilder sb = new StringBuilder();
        int max = 60;
        for (int i = 0; i < s.length() && sb.length() < max; i++) {
            char c = s.charAt(i);
            if (c < ' ' || c == 0x7f || Character.isSurrogate(c) || Character.isISOControl(c)) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (sb.length() >= max && s.length() > max) {
            sb.append("...");
        }
        return sb.toString();
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    private static String codePoint(int cp) {
        return String.format("U+%04X", cp);
    }

    /** The 1-based line and column after {@code length} chars of {@code text}. */
    private static int[] lineColumn(CharSequence text, int length) {
        int line = 1;
        int column = 1;
        for (int i = 0; i < length; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                column = 1;
            } else if (!Character.isLowSurrogate(text.charAt(i))) {
                column++;
            }
        }
        return new int[] {line, column};
    }

    /** The 1-based line and column of the code point at index {@code position} (in code points). */
    private static int[] lineColumnOfCodePoint(String text, int position) {
        int chars = 0;
        for (int cp = 0; cp < position && chars < text.length(); cp++) {
            chars += Character.charCount(text.codePointAt(chars));
        }
        return lineColumn(text, Math.min(chars, text.length()));
    }

    /** The allowed key closest to {@code key} (case-insensitive equal, or at most 2 edits away), or null. */
    static String suggest(String key, List<String> allowed) {
        String best = null;
        int bestDistance = 3;
        String lower = key.toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(lower)) {
                return a;
            }
            if (key.length() > 40) {
                continue;
            }
            int d = distance(lower, a);
            if (d < bestDistance) {
                bestDistance = d;
                best = a;
            }
        }
        return best;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
