package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How the edge picks a service: by gRPC service name, or by the longest matching HTTP prefix. */
class RouteTableTest {
    private final RouteTable table = RouteTable.builder()
            .grpc("shmesh.demo.v1.Demo", "demo")
            .grpc("shmesh.example.quotes.v1.Quotes", "quotes")
            .grpc("Greeter", "hello")
            .http("/", "site")
            .http("/v1/", "demo")
            .http("/v1/quotes", "quotes")
            .http("/v1/quotes/archive/", "archive")
            .http("/api", "api")
            .build();

    private static Optional<String> of(String s) {
        return Optional.of(s);
    }

    // ---- gRPC ---------------------------------------------------------------------------------------------------

    @Test
    void aGrpcPathRoutesByItsFullServiceName() {
        assertEquals(of("demo"), table.serviceForGrpcPath("/shmesh.demo.v1.Demo/Echo"));
        assertEquals(of("quotes"), table.serviceForGrpcPath("/shmesh.example.quotes.v1.Quotes/Today"));
        assertEquals(of("hello"), table.serviceForGrpcPath("/Greeter/say_hello_2"));
        assertEquals(of("shmesh.demo.v1.Demo"), table.grpcServiceName("/shmesh.demo.v1.Demo/Echo"));
    }

    @Test
    void anUnroutedGrpcServiceHasANameButNoService() {
        assertEquals(Optional.empty(), table.serviceForGrpcPath("/shmesh.demo.v1.Compute/Digest"));
        assertEquals(of("shmesh.demo.v1.Compute"), table.grpcServiceName("/shmesh.demo.v1.Compute/Digest"));
        assertEquals(
                Optional.empty(), table.serviceForGrpcPath("/shmesh.demo.v1.demo/Echo"), "names are case-sensitive");
    }

    @Test
    void aGrpcPathIsExactlySlashServiceSlashMethod() {
        for (String bad : new String[] {
            "",
            "/",
            "//",
            "///",
            "/shmesh.demo.v1.Demo",
            "/shmesh.demo.v1.Demo/",
            "//Echo",
            "shmesh.demo.v1.Demo/Echo",
            "/shmesh.demo.v1.Demo//Echo",
            "/shmesh.demo.v1.Demo/Echo/",
            "/shmesh.demo.v1.Demo/Echo/More",
            "//shmesh.demo.v1.Demo/Echo",
            "/shmesh.demo.v1.Demo/Ec.ho",
            "/shmesh.demo.v1.Demo/Echo?x=1",
            "/shmesh.demo.v1.Demo/Echo#x",
            "/shmesh-demo.v1.Demo/Echo",
            "/shmesh.demo.v1.Demo/Ech o",
            "/shmesh.demo.v1.Demo/Echo\n",
            " /shmesh.demo.v1.Demo/Echo",
            "/shmesh.demo.v1.Démo/Echo",
            "/shmesh.demo.v1.Demo/Échø",
            "/shmesh.demo.v1.Demo/E\u0000",
            "/\uD83D\uDE00/\uD83D\uDE00",
        }) {
            assertEquals(Optional.empty(), table.serviceForGrpcPath(bad), bad);
            assertEquals(Optional.empty(), table.grpcServiceName(bad), bad);
        }
        assertEquals(Optional.empty(), table.serviceForGrpcPath(null));
        assertEquals(Optional.empty(), table.grpcServiceName(null));
    }

    @Test
    void theGrpcServicesAreListedSorted() {
        assertEquals(
                List.of("Greeter", "shmesh.demo.v1.Demo", "shmesh.example.quotes.v1.Quotes"),
                List.copyOf(table.grpcServices()));
        assertEquals(List.of("api", "archive", "demo", "hello", "quotes", "site"), List.copyOf(table.services()));
    }

    // ---- HTTP ---------------------------------------------------------------------------------------------------

    @Test
    void theLongestMatchingPrefixWins() {
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/echo"));
        assertEquals(of("quotes"), table.serviceForHttpPath("/v1/quotes"));
        assertEquals(of("quotes"), table.serviceForHttpPath("/v1/quotes/today"));
        assertEquals(
                of("quotes"), table.serviceForHttpPath("/v1/quotes/archive"), "'/v1/quotes/archive/' needs the slash");
        assertEquals(of("archive"), table.serviceForHttpPath("/v1/quotes/archive/1999"));
        assertEquals(of("site"), table.serviceForHttpPath("/index.html"));
        assertEquals(of("site"), table.serviceForHttpPath("/"));
    }

    @Test
    void aPrefixWithoutTrailingSlashMatchesWholeSegmentsOnly() {
        assertEquals(of("api"), table.serviceForHttpPath("/api"));
        assertEquals(of("api"), table.serviceForHttpPath("/api/"));
        assertEquals(of("api"), table.serviceForHttpPath("/api/x"));
        assertEquals(of("site"), table.serviceForHttpPath("/apix"), "not /api: falls to /");
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/quotesx"), "not /v1/quotes: falls to /v1/");
    }

    @Test
    void aPrefixWithTrailingSlashDoesNotMatchThePathWithoutIt() {
        RouteTable t = RouteTable.builder().http("/v1/", "demo").build();
        assertEquals(Optional.empty(), t.serviceForHttpPath("/v1"));
        assertEquals(of("demo"), t.serviceForHttpPath("/v1/"));
        assertEquals(of("demo"), t.serviceForHttpPath("/v1/x"));
    }

    @Test
    void theQueryStringAndFragmentAreNotPartOfThePath() {
        assertEquals(of("api"), table.serviceForHttpPath("/api?x=/v1/quotes"));
        assertEquals(of("api"), table.serviceForHttpPath("/api#/v1/"));
        assertEquals(of("quotes"), table.serviceForHttpPath("/v1/quotes?page=2&q=a/b"));
        assertEquals(of("site"), table.serviceForHttpPath("/?/v1/"));
        RouteTable t = RouteTable.builder().http("/v1/", "demo").build();
        assertEquals(Optional.empty(), t.serviceForHttpPath("/v1?/"));
        assertEquals(Optional.empty(), t.serviceForHttpPath("?/v1/"));
    }

    @Test
    void aPathWithADotSegmentMatchesNothing() {
        for (String bad : new String[] {
            "/v1/../admin",
            "/v1/..",
            "/v1/./x",
            "/..",
            "/.",
            "/v1/%2e%2e/admin",
            "/v1/%2E%2E",
            "/v1/.%2e/x",
            "/v1/%2e./x",
            "/v1/%2e/x",
        }) {
            assertEquals(Optional.empty(), table.serviceForHttpPath(bad), bad);
        }
        // dots inside a segment are ordinary characters, and a dot segment in the query is no segment at all
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/.../x"));
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/..x"));
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/%2e%2e%2e"));
        assertEquals(of("demo"), table.serviceForHttpPath("/v1/x?next=/../y"));
    }

    @Test
    void aPathThatDoesNotStartWithASlashMatchesNothing() {
        for (String bad : new String[] {"", "v1/x", "*", "http://host/v1/x", " /v1/", "\u0000/v1/"}) {
            assertEquals(Optional.empty(), table.serviceForHttpPath(bad), bad);
        }
        assertEquals(Optional.empty(), table.serviceForHttpPath(null));
    }

    @Test
    void garbageAndUnicodeInAPathNeverThrow() {
        RouteTable t = RouteTable.builder().http("/v1/", "demo").build();
        assertEquals(of("demo"), t.serviceForHttpPath("/v1/ünïcödé/\uD83D\uDE00"));
        assertEquals(Optional.empty(), t.serviceForHttpPath("/v\u00B91/x"));
        assertEquals(Optional.empty(), t.serviceForHttpPath("/\uD800"));
        assertEquals(Optional.empty(), t.serviceForHttpPath("/v1%"));
        assertEquals(of("demo"), t.serviceForHttpPath("/v1/%"));
        assertEquals(of("demo"), t.serviceForHttpPath("/v1/%2"));
        assertEquals(Optional.empty(), t.serviceForHttpPath("/" + "/".repeat(10_000)));
    }

    @Test
    void anEmptyTableRoutesNothing() {
        RouteTable empty = RouteTable.builder().build();
        assertEquals(Optional.empty(), empty.serviceForHttpPath("/"));
        assertEquals(Optional.empty(), empty.serviceForGrpcPath("/a.B/C"));
        assertEquals(Set.of(), empty.grpcServices());
    }

    // ---- building -----------------------------------------------------------------------------------------------

    @Test
    void aTableFromServicesHoldsThePublicOnesOnly() {
        RouteTable t = RouteTable.of(List.of(
                service("demo", Exposure.PUBLIC, List.of("shmesh.demo.v1.Demo"), List.of("/v1/")),
                service("digest", Exposure.INTERNAL, List.of("shmesh.demo.v1.Compute"), List.of())));
        assertEquals(Map.of("shmesh.demo.v1.Demo", "demo"), t.grpcRoutes());
        assertEquals(Map.of("/v1/", "demo"), t.httpRoutes());
        assertEquals(Optional.empty(), t.serviceForGrpcPath("/shmesh.demo.v1.Compute/Digest"));
    }

    @Test
    void theBuilderRefusesAClaimByASecondService() {
        RouteTable.Builder b = RouteTable.builder().grpc("a.B", "one").http("/x/", "one");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.grpc("a.B", "two"));
        assertEquals("gRPC service claimed by two services: gRPC service=a.B, services=one,two", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.http("/x/", "two"));
        b.grpc("a.B", "one").http("/x/", "one"); // the same claim again is no conflict
        assertEquals(Map.of("a.B", "one"), b.build().grpcRoutes());
    }

    @Test
    void theBuilderRefusesMalformedNamesAndPrefixes() {
        RouteTable.Builder b = RouteTable.builder();
        assertEquals(
                "not a full gRPC service name: fullServiceName=a..B",
                assertThrows(IllegalArgumentException.class, () -> b.grpc("a..B", "one"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.grpc(null, "one"));
        assertThrows(IllegalArgumentException.class, () -> b.grpc("a.B", "One"));
        assertThrows(IllegalArgumentException.class, () -> b.grpc("a.B", null));
        assertEquals(
                "HTTP prefix must not contain '//': prefix=/a//b",
                assertThrows(IllegalArgumentException.class, () -> b.http("/a//b", "one"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.http("a/", "one"));
        assertThrows(IllegalArgumentException.class, () -> b.http(null, "one"));
    }

    private static ServiceSpec service(String name, Exposure exposure, List<String> grpc, List<String> http) {
        return new ServiceSpec(
                name,
                Path.of("/" + name + ".jar"),
                1,
                exposure,
                grpc,
                http,
                List.of(),
                OptionalInt.empty(),
                SandboxSpec.NONE,
                Resources.NONE,
                Map.of());
    }
}
