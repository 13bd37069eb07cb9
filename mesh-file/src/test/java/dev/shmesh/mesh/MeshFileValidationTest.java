package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One test per rule of the mesh file: each feeds a file that breaks exactly that rule and asserts the first line of
 * the error — file, line, column, key path, problem — and, where it matters, the hint.
 */
class MeshFileValidationTest {
    private static final Path SOURCE = Path.of("shmesh.yaml");

    /** A valid service entry; tests append keys to it (at 4 spaces of indentation). */
    private static final String SERVICE = """
        services:
          - name: demo
            artifact: demo.jar
        """;

    private static MeshFileException refused(String yaml) {
        return assertThrows(MeshFileException.class, () -> MeshFile.parse(yaml, SOURCE));
    }

    /** Asserts the error's position and the first line of its message: {@code shmesh.yaml:L:C: <expected>}. */
    private static MeshFileException assertRefused(String yaml, int line, int column, String expected) {
        MeshFileException e = refused(yaml);
        assertEquals(
                "shmesh.yaml:" + line + ":" + column + ": " + expected,
                e.getMessage().lines().findFirst().orElseThrow(),
                e.getMessage());
        assertEquals(line, e.line(), "line");
        assertEquals(column, e.column(), "column");
        assertEquals(SOURCE, e.source());
        return e;
    }

    // ---- keys ---------------------------------------------------------------------------------------------------

    @Test
    void anUnknownKeyIsRefusedNamingTheAllowedKeysAndTheClosestOne() {
        MeshFileException e = assertRefused(
                SERVICE + "    replica: 2\n",
                4,
                5,
                "services[0]: unknown key 'replica' in a service; allowed: name, artifact, replicas, exposure, grpc, "
                        + "http, calls, listen, sandbox, resources, env");
        assertEquals("did you mean 'replicas'?", e.hint());
        assertEquals("services[0]", e.keyPath());
    }

    @Test
    void anUnknownKeyAtTheTopIsRefused() {
        assertRefused(
                "mesh: demo\nlistener: []\n" + SERVICE,
                2,
                1,
                "unknown key 'listener' in the document; allowed: mesh, listeners, edge, services");
    }

    @Test
    void aKeyTwiceInOneMappingIsRefusedAtTheSecond() {
        assertRefused(
                SERVICE + "    artifact: other.jar\n",
                4,
                5,
                "services[0]: key 'artifact' appears twice (first at line 3)");
    }

    @Test
    void aMissingRequiredKeyPointsAtTheMappingThatLacksIt() {
        assertRefused(
                "services:\n  - name: demo\n    replicas: 2\n", 2, 5, "services[0]: missing required key 'artifact'");
    }

    @Test
    void aFileWithoutServicesPointsAtTheTopMapping() {
        assertRefused("mesh: demo\n", 1, 1, "missing required key 'services'");
    }

    @Test
    void aListenerWithoutPortIsRefused() {
        assertRefused(
                "listeners:\n  - name: public\n    address: 127.0.0.1\n" + SERVICE,
                2,
                5,
                "listeners[0]: missing required key 'port'");
    }

    // ---- types --------------------------------------------------------------------------------------------------

    @Test
    void aQuotedNumberIsNotAnInteger() {
        MeshFileException e = assertRefused(
                SERVICE + "    replicas: \"2\"\n",
                4,
                15,
                "services[0].replicas: expected an integer, got a string '2'");
        assertEquals("write it without quotes: 2", e.hint());
    }

    @Test
    void aNumberIsNotAString() {
        MeshFileException e =
                assertRefused("mesh: 123\n" + SERVICE, 1, 7, "mesh: expected a string, got an integer 123");
        assertEquals("put it in quotes if you mean the text: \"123\"", e.hint());
    }

    @Test
    void aYesIsABooleanWhereAStringIsExpected() {
        assertRefused(
                SERVICE + "    env:\n      VERBOSE: yes\n",
                5,
                16,
                "services[0].env.VERBOSE: expected a string, got a boolean yes");
    }

    @Test
    void aScalarIsNotAList() {
        assertRefused(
                SERVICE + "    grpc: shmesh.demo.v1.Demo\n",
                4,
                11,
                "services[0].grpc: expected a list, got a string 'shmesh.demo.v1.Demo'");
    }

    @Test
    void aListIsNotAMapping() {
        assertRefused("edge: [2]\n" + SERVICE, 1, 7, "edge: expected a mapping (key: value), got a list");
    }

    @Test
    void anEmptyValueIsNull() {
        MeshFileException e =
                assertRefused("edge:\n" + SERVICE, 1, 6, "edge: expected a mapping (key: value), got nothing (null)");
        assertEquals("give it a value, or remove the key", e.hint());
    }

    @Test
    void anIntegerIsDecimalDigitsOnly() {
        assertRefused(SERVICE + "    replicas: 0x2\n", 4, 15, "services[0].replicas: '0x2' is not a decimal integer");
        assertRefused(SERVICE + "    replicas: 02\n", 4, 15, "services[0].replicas: '02' is not a decimal integer");
    }

    // ---- enums --------------------------------------------------------------------------------------------------

    @Test
    void anExposureIsPublicOrInternal() {
        assertRefused(
                "mesh: demo\n"
                        + "services:\n"
                        + "  - name: a\n"
                        + "    artifact: a.jar\n"
                        + "  - name: demo\n"
                        + "    artifact: demo.jar\n"
                        + "    exposure: publik\n",
                7,
                15,
                "services[1].exposure: 'publik' is not one of: public, internal");
    }

    @Test
    void aProtocolIsHttp1H2cOrGrpc() {
        assertRefused(
                "listeners:\n  - {name: public, address: 127.0.0.1, port: 8080, protocols: [http1, http2]}\n" + SERVICE,
                2,
                71,
                "listeners[0].protocols[1]: 'http2' is not one of: http1, h2c, grpc");
    }

    // ---- names and patterns -------------------------------------------------------------------------------------

    @Test
    void aServiceNameIsLowerCaseLettersDigitsAndDashes() {
        assertRefused(
                "services:\n  - name: Demo\n    artifact: demo.jar\n",
                2,
                11,
                "services[0].name: 'Demo' is not a valid name ([a-z][a-z0-9-]{0,30})");
    }

    @Test
    void aServiceNameIsAtMost31Characters() {
        String name = "a".repeat(32);
        assertRefused(
                "services:\n  - name: " + name + "\n    artifact: demo.jar\n",
                2,
                11,
                "services[0].name: '" + name + "' is not a valid name ([a-z][a-z0-9-]{0,30})");
    }

    @Test
    void theMeshsOwnProcessNamesAreReserved() {
        for (String reserved : new String[] {"edge", "gateway", "broker"}) {
            assertRefused(
                    "services:\n  - name: " + reserved + "\n    artifact: demo.jar\n",
                    2,
                    11,
                    "services[0].name: '" + reserved
                            + "' is reserved (edge, gateway and broker are the mesh's own processes)");
        }
    }

    @Test
    void aMeshNameMayStartWithADigitButHasNoUpperCase() {
        assertRefused("mesh: Demo\n" + SERVICE, 1, 7, "mesh: 'Demo' is not a valid name ([a-z0-9][a-z0-9_.]{0,30})");
    }

    @Test
    void aListenerNameFollowsTheServiceNamePattern() {
        assertRefused(
                "listeners:\n  - name: 1st\n    address: 127.0.0.1\n    port: 8080\n" + SERVICE,
                2,
                11,
                "listeners[0].name: '1st' is not a valid name ([a-z][a-z0-9-]{0,30})");
    }

    @Test
    void aListenerAddressIsAnIpLiteralOrLocalhost() {
        assertRefused(
                "listeners:\n  - name: public\n    address: example.com\n    port: 8080\n" + SERVICE,
                3,
                14,
                "listeners[0].address: 'example.com' is not an IP address");
        assertRefused(
                "listeners:\n  - name: public\n    address: 127.0.0.256\n    port: 8080\n" + SERVICE,
                3,
                14,
                "listeners[0].address: '127.0.0.256' is not an IP address");
        assertRefused(
                "listeners:\n  - name: public\n    address: \"[::1]\"\n    port: 8080\n" + SERVICE,
                3,
                14,
                "listeners[0].address: '[::1]': write an IPv6 address without brackets");
    }

    @Test
    void aGrpcServiceIsAFullProtobufName() {
        assertRefused(
                SERVICE + "    grpc: [shmesh.demo.v1.Demo, shmesh..Bad]\n",
                4,
                33,
                "services[0].grpc[1]: 'shmesh..Bad' is not a full gRPC service name");
        assertRefused(
                SERVICE + "    grpc: [/shmesh.demo.v1.Demo/Echo]\n",
                4,
                12,
                "services[0].grpc[0]: '/shmesh.demo.v1.Demo/Echo' is not a full gRPC service name");
    }

    @Test
    void anHttpPrefixStartsWithASlash() {
        assertRefused(
                SERVICE + "    exposure: public\n    http: [v1/]\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix 'v1/' must start with '/'");
    }

    @Test
    void anHttpPrefixHasNoDoubleSlashNoDotSegmentNoQueryNoFragment() {
        String head = SERVICE + "    exposure: public\n    http: [";
        assertRefused(head + "/v1//x]\n", 5, 12, "services[0].http[0]: HTTP prefix '/v1//x' must not contain '//'");
        assertRefused(
                head + "/v1/../admin]\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix '/v1/../admin' must not contain a '.' or '..' segment");
        assertRefused(
                head + "'/v1?x']\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix '/v1?x' must not contain '?' (a prefix matches the path, never the"
                        + " query or fragment)");
        assertRefused(
                head + "'/v1#x']\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix '/v1#x' must not contain '#' (a prefix matches the path, never the"
                        + " query or fragment)");
        assertRefused(
                head + "/v1%2F]\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix '/v1%2F' must not contain '%' (write the characters themselves, not"
                        + " percent-encoded)");
        assertRefused(
                head + "'/v 1']\n",
                5,
                12,
                "services[0].http[0]: HTTP prefix '/v 1' contains U+0020, which is not allowed in a URL path");
    }

    @Test
    void anArtifactIsAJar() {
        assertRefused(
                "services:\n  - name: demo\n    artifact: demo/target/classes\n",
                3,
                15,
                "services[0].artifact: 'demo/target/classes' is not a jar (its name must end in .jar)");
        assertRefused(
                "services:\n  - name: demo\n    artifact: ''\n", 3, 15, "services[0].artifact: the path is empty");
    }

    @Test
    void anEnvironmentKeyIsAVariableName() {
        assertRefused(
                SERVICE + "    env:\n      1ST: x\n",
                5,
                7,
                "services[0].env: '1ST' is not an environment variable name");
    }

    @Test
    void theShmeshEnvironmentPrefixIsReserved() {
        assertRefused(
                SERVICE + "    env:\n      GREETING: hello\n      SHMESH_TOKEN: x\n",
                6,
                7,
                "services[0].env: 'SHMESH_TOKEN': the prefix SHMESH_ is reserved for what the mesh passes its"
                        + " services");
    }

    @Test
    void aSyscallNameIsLowerCaseLettersDigitsAndUnderscores() {
        assertRefused(
                SERVICE + "    sandbox:\n      syscalls: [io_uring_setup, Execve]\n",
                5,
                34,
                "services[0].sandbox.syscalls[1]: 'Execve' is not a syscall name ([a-z0-9_]+)");
    }

    @Test
    void aSandboxPathIsAbsoluteWithoutDotSegmentsAndNotTheRoot() {
        assertRefused(
                SERVICE + "    sandbox:\n      paths: [etc/ssl]\n",
                5,
                15,
                "services[0].sandbox.paths[0]: 'etc/ssl' is not an absolute path");
        assertRefused(
                SERVICE + "    sandbox:\n      paths: [/etc/../root]\n",
                5,
                15,
                "services[0].sandbox.paths[0]: '/etc/../root' has a '..' segment");
        assertRefused(
                SERVICE + "    sandbox:\n      paths: [/]\n",
                5,
                15,
                "services[0].sandbox.paths[0]: the whole file system cannot be bound into a sandbox");
    }

    @Test
    void aHeapSizeIsDigitsAndKMOrG() {
        assertRefused(
                SERVICE + "    resources:\n      heap: 256MB\n",
                5,
                13,
                "services[0].resources.heap: '256MB' is not a heap size");
        assertRefused(
                SERVICE + "    resources:\n      heap: 256\n",
                5,
                13,
                "services[0].resources.heap: a heap size needs a unit");
        assertRefused(
                SERVICE + "    resources:\n      heap: 0m\n",
                5,
                13,
                "services[0].resources.heap: the size must be more than 0");
        assertRefused(
                SERVICE + "    resources:\n      heap: 9999999999999g\n",
                5,
                13,
                "services[0].resources.heap: '9999999999999g' is too large");
    }

    @Test
    void aMemorySizeIsBytesOrKiMiGi() {
        assertRefused(
                SERVICE + "    resources:\n      memory: 512M\n",
                5,
                15,
                "services[0].resources.memory: '512M' is not a memory size");
    }

    @Test
    void listsHoldEachValueOnce() {
        assertRefused(SERVICE + "    grpc: [a.B, a.B]\n", 4, 17, "services[0].grpc[1]: 'a.B' is listed twice");
    }

    // ---- ranges -------------------------------------------------------------------------------------------------

    @Test
    void aPortIsOneTo65535() {
        assertRefused(
                "listeners:\n  - {name: public, address: 127.0.0.1, port: 0}\n" + SERVICE,
                2,
                46,
                "listeners[0].port: 0 is out of range 1..65535");
        assertRefused(
                "listeners:\n  - {name: public, address: 127.0.0.1, port: 65536}\n" + SERVICE,
                2,
                46,
                "listeners[0].port: 65536 is out of range 1..65535");
    }

    @Test
    void replicasAreOneTo64() {
        assertRefused(SERVICE + "    replicas: 65\n", 4, 15, "services[0].replicas: 65 is out of range 1..64");
        assertRefused("edge:\n  replicas: 0\n" + SERVICE, 2, 13, "edge.replicas: 0 is out of range 1..64");
        assertRefused(
                SERVICE + "    replicas: 99999999999999999999999\n",
                4,
                15,
                "services[0].replicas: 99999999999999999999999 is out of range 1..64");
    }

    @Test
    void pidsAreOneToAMillion() {
        assertRefused(
                SERVICE + "    resources: {pids: 1000001}\n",
                4,
                23,
                "services[0].resources.pids: 1000001 is out of range 1..1000000");
    }

    @Test
    void cpusAreMoreThanZeroAndAtMost1024() {
        assertRefused(
                SERVICE + "    resources: {cpus: 0.0}\n",
                4,
                23,
                "services[0].resources.cpus: 0.0 is out of range: more than 0, at most 1024");
        assertRefused(
                SERVICE + "    resources: {cpus: 1024.5}\n",
                4,
                23,
                "services[0].resources.cpus: 1024.5 is out of range: more than 0, at most 1024");
        assertRefused(
                SERVICE + "    resources: {cpus: .5}\n",
                4,
                23,
                "services[0].resources.cpus: '.5' is not a decimal number");
    }

    // ---- lists --------------------------------------------------------------------------------------------------

    @Test
    void servicesMustNotBeEmpty() {
        assertRefused("services: []\n", 1, 11, "services: the list is empty");
    }

    @Test
    void listenersMustNotBeEmptyWhenGiven() {
        assertRefused("listeners: []\n" + SERVICE, 1, 12, "listeners: the list is empty");
    }

    // ---- uniqueness and cross-references ------------------------------------------------------------------------

    @Test
    void aServiceNameIsDeclaredOnce() {
        assertRefused(
                SERVICE + "  - name: demo\n    artifact: other.jar\n",
                4,
                11,
                "services[1].name: service 'demo' is already declared at services[0]");
    }

    @Test
    void aListenerNameIsUsedOnce() {
        assertRefused(
                "listeners:\n"
                        + "  - {name: a, address: 127.0.0.1, port: 8080}\n"
                        + "  - {name: a, address: 127.0.0.1, port: 8081}\n"
                        + SERVICE,
                3,
                12,
                "listeners[1].name: listener name 'a' is used twice");
    }

    @Test
    void anAddressAndPortAreBoundOnce() {
        assertRefused(
                "listeners:\n"
                        + "  - {name: a, address: 127.0.0.1, port: 8080}\n"
                        + "  - {name: b, address: 127.0.0.1, port: 8080}\n"
                        + SERVICE,
                3,
                24,
                "listeners[1].address: 127.0.0.1:8080 is already taken by listener 'a' (127.0.0.1:8080)");
        // a wildcard address overlaps every other on its port
        assertRefused(
                "listeners:\n"
                        + "  - {name: a, address: 127.0.0.1, port: 8080}\n"
                        + "  - {name: b, address: 0.0.0.0, port: 8080}\n"
                        + SERVICE,
                3,
                24,
                "listeners[1].address: 0.0.0.0:8080 is already taken by listener 'a' (127.0.0.1:8080)");
        // IPv6 compares by value, not spelling
        assertRefused(
                "listeners:\n  - {name: a, address: '::1', port: 8080}\n  - {name: b, address: '0:0::1', port: 8080}\n"
                        + SERVICE,
                3,
                24,
                "listeners[1].address: 0:0::1:8080 is already taken by listener 'a' (::1:8080)");
    }

    @Test
    void localhostOverlapsTheLoopbackAddressesButDistinctAddressesShareAPort() throws MeshFileException {
        assertRefused(
                "listeners:\n  - {name: a, address: '::1', port: 8080}\n  - {name: b, address: localhost, port: 8080}\n"
                        + SERVICE,
                3,
                24,
                "listeners[1].address: localhost:8080 is already taken by listener 'a' (::1:8080)");
        MeshFile mesh = MeshFile.parse(
                "listeners:\n"
                        + "  - {name: a, address: 127.0.0.1, port: 8080}\n"
                        + "  - {name: b, address: 127.0.0.2, port: 8080}\n"
                        + "  - {name: c, address: '::1', port: 8080}\n"
                        + "  - {name: d, address: localhost, port: 8081}\n"
                        + SERVICE,
                SOURCE);
        assertEquals(4, mesh.listeners().size());
    }

    @Test
    @Timeout(30)
    void thousandsOfListenersOnOnePortAreCheckedWithoutComparingEveryPair() throws MeshFileException {
        StringBuilder yaml = new StringBuilder("listeners:\n");
        int n = 16_000;
        for (int i = 0; i < n; i++) {
            yaml.append("  - {name: l")
                    .append(i)
                    .append(", address: '2001:db8::")
                    .append(Integer.toHexString(i))
                    .append("', port: 80}\n");
        }
        yaml.append(SERVICE);
        assertEquals(n, MeshFile.parse(yaml.toString(), SOURCE).listeners().size());
    }

    @Test
    void aGrpcServiceIsServedByOneService() {
        assertRefused(
                "services:\n"
                        + "  - {name: a, artifact: a.jar, grpc: [x.Y]}\n"
                        + "  - {name: b, artifact: b.jar, grpc: [z.W, x.Y]}\n",
                3,
                44,
                "services[1].grpc[1]: gRPC service 'x.Y' is already served by service 'a'");
    }

    @Test
    void anHttpPrefixIsRoutedToOneService() {
        assertRefused(
                "services:\n  - {name: a, artifact: a.jar, exposure: public, http: [/v1/]}\n"
                        + "  - {name: b, artifact: b.jar, exposure: public, http: [/v1/]}\n",
                3,
                57,
                "services[1].http[0]: HTTP prefix '/v1/' is already routed to service 'a'");
    }

    @Test
    void callsNameAServiceOfTheMesh() {
        MeshFileException e = assertRefused(
                SERVICE + "    calls: [digest]\n",
                4,
                13,
                "services[0].calls[0]: no service 'digest' in this mesh file");
        assertEquals("the services are: demo", e.hint());
    }

    @Test
    void aServiceDoesNotCallItself() {
        assertRefused(
                SERVICE + "    calls: [demo]\n",
                4,
                13,
                "services[0].calls[0]: a service does not call itself over the mesh");
    }

    @Test
    void callsAreCheckedAfterEveryServiceIsKnown() throws MeshFileException {
        MeshFile file = MeshFile.parse(
                "services:\n  - {name: a, artifact: a.jar, calls: [b]}\n  - {name: b, artifact: b.jar}\n", SOURCE);
        assertEquals(java.util.List.of("b"), file.service("a").orElseThrow().calls());
    }

    @Test
    void anInternalServiceHasNoHttpRoutes() {
        MeshFileException e = assertRefused(
                SERVICE + "    http: [/v1/]\n", 4, 5, "services[0].http: an internal service has no HTTP routes");
        assertEquals("add 'exposure: public' to route to it from outside, or remove 'http'", e.hint());
    }

    @Test
    void anInternalServiceHasNoListenerOfItsOwn() {
        assertRefused(
                SERVICE + "    listen: 9090\n",
                4,
                5,
                "services[0].listen: an internal service has no listener of its own");
    }

    @Test
    void aServicesOwnListenerTakesAPortNoListenerHas() {
        assertRefused(
                SERVICE + "    exposure: public\n    listen: 8080\n",
                5,
                13,
                "services[0].listen: port 8080 is already taken by listener 'public'");
    }

    @Test
    void twoServicesDoNotListenOnOnePort() {
        assertRefused(
                "services:\n  - {name: a, artifact: a.jar, exposure: public, listen: 9090}\n"
                        + "  - {name: b, artifact: b.jar, exposure: public, listen: 9090}\n",
                3,
                58,
                "services[1].listen: port 9090 is already taken by service 'a'");
    }

    // ---- YAML itself --------------------------------------------------------------------------------------------

    @Test
    void aYamlSyntaxErrorCarriesSnakeyamlsMark() {
        MeshFileException e = assertRefused(
                "services:\n  - name: demo\n   artifact: demo.jar\n",
                3,
                4,
                "YAML syntax: expected <block end>, but found '<block mapping start>' (while parsing a block"
                        + " collection at line 2)");
        assertEquals("check the indentation, colons and quotes here", e.hint());
    }

    @Test
    void anUnclosedFlowListIsASyntaxError() {
        MeshFileException e = refused(SERVICE + "    grpc: [a.B\n");
        assertEquals(5, e.line());
    }

    @Test
    void anchorsAreRefused() {
        assertRefused(
                "services:\n  - &svc {name: demo, artifact: demo.jar}\n",
                2,
                5,
                "anchors (&svc) are not allowed in a mesh file");
    }

    @Test
    void aliasesAreRefused() {
        // an alias without its anchor: refused as an alias, not as an undefined one
        assertRefused("services:\n  - *svc\n", 2, 5, "aliases (*name) are not allowed in a mesh file");
    }

    @Test
    void anAliasBombIsRefusedAtItsFirstAnchorAndQuickly() {
        StringBuilder bomb =
                new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char c = 'b'; c <= 'z'; c++) {
            char p = (char) (c - 1);
            bomb.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++) {
                bomb.append(i == 0 ? "" : ",").append('*').append(p);
            }
            bomb.append("]\n");
        }
        MeshFileException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(bomb.toString()));
        assertEquals(1, e.line());
        assertEquals(4, e.column());
    }

    @Test
    void explicitTagsAreRefused() {
        assertRefused(
                SERVICE + "    replicas: !!str 2\n",
                4,
                15,
                "tags (tag:yaml.org,2002:str) are not allowed in a mesh file");
        assertRefused("services: !!set\n  ? a\n", 1, 11, "tags (tag:yaml.org,2002:set) are not allowed in a mesh file");
    }

    @Test
    void aSecondDocumentIsRefused() {
        assertRefused(SERVICE + "---\nmesh: other\n", 4, 1, "a second YAML document; a mesh file is exactly one");
    }

    @Test
    void anEmptyFileIsRefused() {
        MeshFileException e = refused("# nothing here\n");
        assertEquals(
                "shmesh.yaml: the file has no YAML document",
                e.getMessage().lines().findFirst().orElseThrow());
        assertEquals(0, e.line());
        assertEquals(0, e.column());
    }

    @Test
    void aRootThatIsNotAMappingIsRefused() {
        assertRefused("- services\n", 1, 1, "expected a mapping of keys (mesh, listeners, edge, services), got a list");
        assertRefused(
                "---\n", 2, 1, "expected a mapping of keys (mesh, listeners, edge, services), got nothing (null)");
    }

    @Test
    void deepNestingIsRefused() {
        String deep = "services: " + "[".repeat(100) + "]".repeat(100) + "\n";
        MeshFileException e = refused(deep);
        assertEquals("nested deeper than 16 levels", e.problem());
        assertEquals(1, e.line());
    }

    @Test
    void aNonMappingKeyIsRefused() {
        assertRefused("? [a, b]\n: c\n" + SERVICE, 1, 3, "a key must be a plain word, not a list");
    }

    @Test
    void aControlCharacterIsRefusedWithItsPosition() {
        MeshFileException e = refused(SERVICE + "    env: {A: \"x\u0007\"}\n");
        assertEquals("the character U+0007 is not allowed in YAML", e.problem());
        assertEquals(4, e.line());
        assertEquals(16, e.column());
    }

    @Test
    void anEscapeCutShortOrOutOfRangeIsASyntaxErrorNotACrash() {
        // snakeyaml 2.5 throws NumberFormatException for these (found by MeshFileFuzzTest)
        for (String yaml : new String[] {SERVICE + "    env: {A: \"\\x", SERVICE + "    env: {A: \"\\UFFFFFFFF\"}\n"}) {
            MeshFileException e = refused(yaml);
            assertEquals(
                    "YAML syntax: an escape sequence in a double-quoted string is cut short or out of range",
                    e.problem(),
                    yaml);
            assertEquals(4, e.line(), yaml);
        }
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedWithTheirPosition() {
        byte[] bytes = (SERVICE + "    env: {A: x}\n").getBytes(StandardCharsets.UTF_8);
        bytes[bytes.length - 3] = (byte) 0xC3; // the x becomes a lead byte followed by '}'
        MeshFileException e = assertThrows(MeshFileException.class, () -> MeshFileParser.parse(bytes, SOURCE));
        assertEquals("not UTF-8: malformed byte sequence at byte offset " + (bytes.length - 3), e.problem());
        assertEquals(4, e.line());
        assertEquals(14, e.column());
    }
}
