package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Any bytes given to the parser end in a {@link MeshFile} that keeps every rule of the format, or in a {@link
 * MeshFileException} with a sane position; anything else (another exception, a stack overflow, a hang) is a finding.
 *
 * <p>Under {@code mvn verify} this runs the inputs in {@code MeshFileFuzzTestInputs/fuzzMeshFile/} (regression mode);
 * with {@code JAZZER_FUZZ=1} it fuzzes (see docs/mesh-file.md, "Fuzzing").
 */
class MeshFileFuzzTest {
    private static final Path SOURCE = Path.of("/mesh/shmesh.yaml");

    @FuzzTest(maxDuration = "5m")
    // libFuzzer's dictionary format: printable ASCII without quotes or backslashes
    @DictionaryEntries({
        "mesh: ",
        "listeners:",
        "edge:",
        "services:",
        "  - name: ",
        "    artifact: ",
        "    replicas: ",
        "    exposure: ",
        "public",
        "internal",
        "    grpc: [",
        "    http: [",
        "    calls: [",
        "    listen: ",
        "    sandbox:",
        "      syscalls: [",
        "      paths: [",
        "    resources:",
        "      heap: ",
        "      memory: ",
        "      pids: ",
        "      cpus: ",
        "    env:",
        "address: ",
        "port: ",
        "protocols: [http1, h2c, grpc]",
        ".jar",
        "127.0.0.1",
        "::1",
        "0.0.0.0",
        "localhost",
        "8080",
        "65535",
        "65536",
        "256m",
        "512Mi",
        "1.5",
        "SHMESH_",
        "/v1/",
        "..",
        "//",
        "%2e",
        "shmesh.demo.v1.Demo",
        "&a ",
        "*a",
        "!!str ",
        "---",
        "...",
        "? ",
        "<<: ",
        "{",
        "}",
        "[",
        "]",
        "'",
        "|",
        ">"
    })
    void fuzzMeshFile(byte[] data) {
        MeshFile mesh;
        try {
            mesh = MeshFileParser.parse(data, SOURCE);
        } catch (MeshFileException e) {
            assertTrue(e.line() >= 0 && e.column() >= 0, e.getMessage());
            assertTrue(e.line() > 0 || e.column() == 0, e.getMessage());
            assertTrue(e.getMessage().startsWith(SOURCE + ":"), e.getMessage());
            assertFalse(e.problem().isEmpty(), e.getMessage());
            // snakeyaml failing in an undocumented way is caught for the user, and still a finding here
            assertFalse(e.problem().startsWith(MeshFileParser.UNEXPECTED), e.getMessage());
            assertNotNull(e.hint());
            return;
        }
        assertValid(mesh);
    }

    /** The rules a parsed mesh file keeps, checked on the model alone. */
    static void assertValid(MeshFile mesh) {
        assertTrue(MeshFileParser.MESH_NAME.matcher(mesh.mesh()).matches(), mesh.mesh());
        assertFalse(mesh.listeners().isEmpty());
        Set<String> listenerNames = new HashSet<>();
        Set<Integer> ports = new HashSet<>();
        for (Listener l : mesh.listeners()) {
            assertTrue(listenerNames.add(l.name()), l.name());
            assertTrue(l.port() >= 1 && l.port() <= 65535);
            assertFalse(l.protocols().isEmpty());
            ports.add(l.port());
        }
        assertTrue(mesh.edge().replicas() >= 1 && mesh.edge().replicas() <= 64);
        assertFalse(mesh.services().isEmpty());
        Set<String> names = new HashSet<>();
        mesh.services().forEach(s -> names.add(s.name()));
        assertEquals(mesh.services().size(), names.size(), "service names are unique");
        for (ServiceSpec s : mesh.services()) {
            assertTrue(MeshFileParser.SERVICE_NAME.matcher(s.name()).matches(), s.name());
            assertFalse(MeshFileParser.RESERVED_SERVICE_NAMES.contains(s.name()));
            assertTrue(
                    s.artifact().isAbsolute()
                            && s.artifact().equals(s.artifact().normalize()),
                    s.artifact()::toString);
            assertTrue(s.artifact().getFileName().toString().endsWith(".jar"));
            assertTrue(s.replicas() >= 1 && s.replicas() <= 64);
            for (String callee : s.calls()) {
                assertTrue(names.contains(callee) && !callee.equals(s.name()), callee);
            }
            if (!s.isPublic()) {
                assertTrue(s.httpPrefixes().isEmpty() && s.listen().isEmpty());
            }
            s.listen().ifPresent(port -> assertTrue(ports.add(port), "listen port " + port + " is free"));
            s.env().keySet().forEach(k -> assertFalse(k.startsWith("SHMESH_"), k));
            s.sandbox().paths().forEach(p -> assertTrue(p.isAbsolute() && p.getNameCount() > 0, p::toString));
            s.resources().heapBytes().ifPresent(h -> assertTrue(h > 0));
            s.resources().memoryBytes().ifPresent(m -> assertTrue(m > 0));
            s.resources().cpus().ifPresent(c -> assertTrue(c > 0 && c <= 1024));
        }
        // everything the parser accepts, the edge can route: no second owner, no malformed name
        RouteTable table = RouteTable.of(mesh.services());
        for (ServiceSpec s : mesh.services()) {
            for (String g : s.grpcServices()) {
                assertEquals(
                        s.isPublic() ? s.name() : null,
                        table.serviceForGrpcPath("/" + g + "/M").orElse(null));
            }
            for (String prefix : s.httpPrefixes()) {
                assertEquals(s.name(), table.serviceForHttpPath(prefix).orElseThrow());
            }
        }
    }
}
