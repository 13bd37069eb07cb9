package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Any strings the edge may hand a {@link RouteTable} give a result or empty, never an exception; a result is one of
 * the table's services, and agrees with a slow reference implementation of the matching rules.
 *
 * <p>Under {@code mvn verify} this runs the inputs in {@code RouteTableFuzzTestInputs/fuzzRouteTable/}; with {@code
 * JAZZER_FUZZ=1} it fuzzes.
 */
class RouteTableFuzzTest {
    private static final Pattern GRPC_PATH = Pattern.compile("/([A-Za-z0-9_.]+)/[A-Za-z0-9_]+");
    private static final String[] OWNERS = {"demo", "quotes", "archive", "site", "api"};

    @FuzzTest(maxDuration = "5m")
    // libFuzzer's dictionary format: printable ASCII without quotes or backslashes
    @DictionaryEntries({
        "/",
        "//",
        "/v1",
        "/v1/",
        "/v1/quotes",
        "/quotes/",
        "?",
        "#",
        "%2e",
        "%2E",
        ".",
        "..",
        "/Echo",
        "shmesh.demo.v1.Demo",
        "/shmesh.demo.v1.Demo/Echo"
    })
    void fuzzRouteTable(FuzzedDataProvider data) {
        RouteTable.Builder builder = RouteTable.builder();
        if (data.consumeBoolean()) {
            builder.grpc("shmesh.demo.v1.Demo", "demo")
                    .http("/v1/", "demo")
                    .http("/v1/quotes", "quotes")
                    .http("/", "site");
        }
        int entries = data.consumeInt(0, 8);
        for (int i = 0; i < entries; i++) {
            boolean grpc = data.consumeBoolean();
            String key = data.consumeString(48);
            String owner = data.consumeBoolean() ? data.pickValue(OWNERS) : data.consumeString(12);
            try {
                if (grpc) {
                    builder.grpc(key, owner);
                } else {
                    builder.http(key, owner);
                }
            } catch (IllegalArgumentException refused) {
                // a caller mistake, documented: malformed or claimed twice
            }
        }
        RouteTable table = builder.build();
        while (data.remainingBytes() > 0) {
            String path = data.consumeBoolean() ? data.consumeString(256) : data.consumeAsciiString(256);
            check(table, path);
        }
        check(table, null);
    }

    private static void check(RouteTable table, String path) {
        Optional<String> grpcName = table.grpcServiceName(path);
        Optional<String> grpcService = table.serviceForGrpcPath(path);
        Optional<String> httpService = table.serviceForHttpPath(path);

        var m = path == null ? null : GRPC_PATH.matcher(path);
        Optional<String> expectedName = m != null && m.matches() ? Optional.of(m.group(1)) : Optional.empty();
        assertEquals(expectedName, grpcName, path);
        assertEquals(grpcName.map(table.grpcRoutes()::get), grpcService, path);
        grpcService.ifPresent(s -> assertTrue(table.services().contains(s), s));

        assertEquals(referenceHttp(table, path), httpService, path);
        httpService.ifPresent(s -> assertTrue(table.services().contains(s), s));
    }

    /** The HTTP rules, written the slow and obvious way. */
    private static Optional<String> referenceHttp(RouteTable table, String raw) {
        if (raw == null || !raw.startsWith("/")) {
            return Optional.empty();
        }
        String path = raw.split("[?#]", -1)[0];
        for (String segment : path.split("/", -1)) {
            String decoded = segment.replace("%2e", ".").replace("%2E", ".");
            if (decoded.equals(".") || decoded.equals("..")) {
                return Optional.empty();
            }
        }
        String best = null;
        for (Map.Entry<String, String> e : table.httpRoutes().entrySet()) {
            String p = e.getKey();
            boolean matches = p.endsWith("/") ? path.startsWith(p) : path.equals(p) || path.startsWith(p + "/");
            if (matches && (best == null || p.length() > best.length())) {
                best = p;
            }
        }
        return best == null ? Optional.empty() : Optional.of(table.httpRoutes().get(best));
    }
}
