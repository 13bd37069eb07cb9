package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mesh file read into its model: the example, every default, every value form, relative paths, file limits. */
class MeshFileTest {
    static Path root() {
        String root = System.getProperty("shmesh.root");
        Path p = root != null ? Path.of(root) : Path.of("..");
        return p.toAbsolutePath().normalize();
    }

    @TempDir
    Path dir;

    @Test
    void theExampleMeshFileReadsIntoTheExpectedModel() throws MeshFileException {
        Path file = root().resolve("examples/shmesh.yaml");
        MeshFile mesh = MeshFile.parse(file);
        Path examples = file.getParent();

        assertEquals("examples", mesh.mesh());
        assertEquals(
                List.of(new Listener("public", "127.0.0.1", 8080, EnumSet.allOf(Protocol.class))), mesh.listeners());
        assertEquals(new Edge(2), mesh.edge());
        assertEquals(file, mesh.source());
        Resources heap64 = new Resources(
                OptionalLong.of(64L << 20), OptionalLong.empty(), OptionalInt.empty(), OptionalDouble.empty());
        assertEquals(
                List.of(
                        new ServiceSpec(
                                "quotes",
                                examples.resolve("quotes/target/quotes.jar"),
                                2,
                                Exposure.PUBLIC,
                                List.of("shmesh.example.v1.Quotes"),
                                List.of(),
                                List.of("ledger", "greeter"),
                                OptionalInt.empty(),
                                SandboxSpec.NONE,
                                heap64,
                                Map.of()),
                        new ServiceSpec(
                                "greeter",
                                examples.resolve("greeter/target/quarkus-app/quarkus-run.jar"),
                                1,
                                Exposure.PUBLIC,
                                List.of("shmesh.example.v1.Greeter"),
                                List.of(),
                                List.of("ledger"),
                                OptionalInt.empty(),
                                SandboxSpec.NONE,
                                new Resources(OptionalLong.of(96L << 20), OptionalLong.empty(), OptionalInt.empty(),
                                        OptionalDouble.empty()),
                                Map.of()),
                        new ServiceSpec(
                                "ledger",
                                examples.resolve("ledger/target/ledger.jar"),
                                1,
                                Exposure.INTERNAL,
                                List.of("shmesh.example.v1.Ledger"),
                                List.of(),
                                List.of(),
                                OptionalInt.empty(),
                                SandboxSpec.NONE,
                                heap64,
                                Map.of())),
                mesh.services());

        RouteTable routes = RouteTable.of(mesh.services());
        assertEquals(Set.of("shmesh.example.v1.Greeter", "shmesh.example.v1.Quotes"), routes.grpcServices());
        assertEquals(Optional.of("quotes"), routes.serviceForGrpcPath("/shmesh.example.v1.Quotes/Get"));
        assertEquals(Optional.empty(), routes.serviceForGrpcPath("/shmesh.example.v1.Ledger/Record"), "internal");
    }

    @Test
    void everyKeyReadsIntoTheModel() throws MeshFileException {
        MeshFile mesh = MeshFile.parse("""
            mesh: shop_2
            listeners:
              - name: public
                address: 0.0.0.0
                port: 8080
              - name: grpc-only
                address: "::1"
                port: 9000
                protocols: [grpc, h2c]
            edge:
              replicas: 3
            services:
              - name: shop
                artifact: /opt/shop/shop.jar
                replicas: 4
                exposure: public
                grpc: [shop.v1.Cart, Orders]
                http: [/cart/, /orders]
                calls: [stock]
                listen: 9090
                sandbox:
                  syscalls: [io_uring_setup, io_uring_enter]
                  paths: [/etc/ssl/certs, /usr/share//zoneinfo/]
                resources:
                  heap: 256m
                  memory: 512Mi
                  pids: 256
                  cpus: 1.5
                env:
                  ZED: last
                  GREETING: 'hello: world'
                  EMPTY: ""
              - name: stock
                artifact: ../stock/stock.jar
                resources: {heap: 2G, memory: 1048576, cpus: 2}
              - name: third
                artifact: third.jar
                resources: {heap: 64k, memory: "3Gi"}
            """, dir.resolve("conf/shmesh.yaml"));

        assertEquals("shop_2", mesh.mesh());
        assertEquals(
                List.of(
                        new Listener("public", "0.0.0.0", 8080, EnumSet.allOf(Protocol.class)),
                        new Listener("grpc-only", "::1", 9000, EnumSet.of(Protocol.H2C, Protocol.GRPC))),
                mesh.listeners());
        assertEquals(3, mesh.edge().replicas());

        ServiceSpec shop = mesh.service("shop").orElseThrow();
        assertEquals(Path.of("/opt/shop/shop.jar"), shop.artifact());
        assertEquals(4, shop.replicas());
        assertEquals(Exposure.PUBLIC, shop.exposure());
        assertEquals(List.of("shop.v1.Cart", "Orders"), shop.grpcServices());
        assertEquals(List.of("/cart/", "/orders"), shop.httpPrefixes());
        assertEquals(List.of("stock"), shop.calls());
        assertEquals(OptionalInt.of(9090), shop.listen());
        assertEquals(
                new SandboxSpec(
                        List.of("io_uring_setup", "io_uring_enter"),
                        List.of(Path.of("/etc/ssl/certs"), Path.of("/usr/share/zoneinfo"))),
                shop.sandbox());
        assertEquals(
                new Resources(
                        OptionalLong.of(256L << 20),
                        OptionalLong.of(512L << 20),
                        OptionalInt.of(256),
                        OptionalDouble.of(1.5)),
                shop.resources());
        assertEquals(List.of("ZED", "GREETING", "EMPTY"), List.copyOf(shop.env().keySet()), "env keeps file order");
        assertEquals("hello: world", shop.env().get("GREETING"));
        assertEquals("", shop.env().get("EMPTY"));

        ServiceSpec stock = mesh.service("stock").orElseThrow();
        assertEquals(
                dir.resolve("stock/stock.jar"), stock.artifact(), "relative to the mesh file's directory, normalized");
        assertEquals(
                new Resources(
                        OptionalLong.of(2L << 30), OptionalLong.of(1048576), OptionalInt.empty(), OptionalDouble.of(2)),
                stock.resources());
        assertEquals(Exposure.INTERNAL, stock.exposure());

        ServiceSpec third = mesh.service("third").orElseThrow();
        assertEquals(OptionalLong.of(64L << 10), third.resources().heapBytes());
        assertEquals(OptionalLong.of(3L << 30), third.resources().memoryBytes());
        assertEquals(Optional.empty(), mesh.service("nope"));
    }

    @Test
    void defaultsFillWhatTheFileLeavesOut() throws MeshFileException {
        MeshFile mesh = MeshFile.parse("services:\n  - name: demo\n    artifact: demo.jar\n", null);
        assertEquals("default", mesh.mesh());
        assertEquals(
                List.of(new Listener("public", "127.0.0.1", 8080, EnumSet.allOf(Protocol.class))), mesh.listeners());
        assertEquals(Listener.DEFAULT, mesh.listeners().getFirst());
        assertEquals(new Edge(2), mesh.edge());
        assertEquals(null, mesh.source());
        ServiceSpec demo = mesh.services().getFirst();
        assertEquals(1, demo.replicas());
        assertEquals(Exposure.INTERNAL, demo.exposure());
        assertEquals(List.of(), demo.grpcServices());
        assertEquals(List.of(), demo.httpPrefixes());
        assertEquals(List.of(), demo.calls());
        assertEquals(OptionalInt.empty(), demo.listen());
        assertEquals(new SandboxSpec(List.of(), List.of()), demo.sandbox());
        assertEquals(Resources.NONE, demo.resources());
        assertEquals(Map.of(), demo.env());
    }

    @Test
    void withoutASourceArtifactsResolveAgainstTheCurrentDirectory() throws MeshFileException {
        MeshFile mesh = MeshFile.parse("services:\n  - name: demo\n    artifact: a/../demo.jar\n", null);
        assertEquals(
                Path.of("").toAbsolutePath().resolve("demo.jar"),
                mesh.services().getFirst().artifact());
    }

    @Test
    void aRelativeSourceAnchorsArtifactsAtItsAbsoluteDirectory() throws MeshFileException {
        MeshFile mesh = MeshFile.parse("services:\n  - name: demo\n    artifact: demo.jar\n", Path.of("shmesh.yaml"));
        assertEquals(
                Path.of("").toAbsolutePath().resolve("demo.jar"),
                mesh.services().getFirst().artifact());
        mesh = MeshFile.parse("services:\n  - name: demo\n    artifact: demo.jar\n", Path.of("conf/shmesh.yaml"));
        assertEquals(
                Path.of("").toAbsolutePath().resolve("conf/demo.jar"),
                mesh.services().getFirst().artifact());
    }

    @Test
    void theModelIsImmutable() throws MeshFileException {
        MeshFile mesh = MeshFile.parse("services:\n  - name: demo\n    artifact: demo.jar\n    env: {A: b}\n", null);
        ServiceSpec demo = mesh.services().getFirst();
        assertThrows(UnsupportedOperationException.class, () -> mesh.services().clear());
        assertThrows(UnsupportedOperationException.class, () -> demo.env().put("B", "c"));
        assertThrows(
                UnsupportedOperationException.class, () -> demo.grpcServices().add("x.Y"));
        assertThrows(
                UnsupportedOperationException.class,
                () -> mesh.listeners().getFirst().protocols().clear());

        Map<String, String> env = new LinkedHashMap<>(Map.of("A", "b"));
        ServiceSpec copy = new ServiceSpec(
                demo.name(),
                demo.artifact(),
                1,
                Exposure.INTERNAL,
                List.of(),
                List.of(),
                List.of(),
                OptionalInt.empty(),
                SandboxSpec.NONE,
                Resources.NONE,
                env);
        env.put("B", "c");
        assertEquals(Map.of("A", "b"), copy.env());
    }

    @Test
    void aFileIsReadAsUtf8AndAByteOrderMarkIsSkipped() throws IOException, MeshFileException {
        Path file = dir.resolve("shmesh.yaml");
        byte[] text = "services:\n  - name: demo\n    artifact: demo.jar\n    env: {GREETING: grüezi}\n"
                .getBytes(StandardCharsets.UTF_8);
        byte[] withBom = new byte[text.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(text, 0, withBom, 3, text.length);
        Files.write(file, withBom);
        MeshFile mesh = MeshFile.parse(file);
        assertEquals("grüezi", mesh.services().getFirst().env().get("GREETING"));
        assertEquals(dir.resolve("demo.jar"), mesh.services().getFirst().artifact());
    }

    @Test
    void aFileOfMoreThanOneMebibyteIsRefused() throws IOException {
        Path file = dir.resolve("shmesh.yaml");
        String services = "services:\n  - name: demo\n    artifact: demo.jar\n";
        Files.writeString(file, services + "#".repeat(MeshFile.MAX_BYTES) + "\n");
        MeshFileException e = assertThrows(MeshFileException.class, () -> MeshFile.parse(file));
        assertEquals(
                file + ": the file is larger than 1 MiB (1048576 bytes), the limit for a mesh file",
                e.getMessage().lines().findFirst().orElseThrow());
        assertEquals(0, e.line());

        // the same text as a string, and a string of fewer chars but more UTF-8 bytes
        assertThrows(MeshFileException.class, () -> MeshFile.parse(Files.readString(file), null));
        assertThrows(
                MeshFileException.class,
                () -> MeshFile.parse(services + "#" + "é".repeat(MeshFile.MAX_BYTES / 2), null));
    }

    @Test
    void aFileOfExactlyOneMebibyteIsRead() throws IOException, MeshFileException {
        Path file = dir.resolve("shmesh.yaml");
        String services = "services:\n  - name: demo\n    artifact: demo.jar\n#";
        Files.writeString(file, services + "x".repeat(MeshFile.MAX_BYTES - services.length() - 1) + "\n");
        assertEquals(MeshFile.MAX_BYTES, Files.size(file));
        assertEquals("demo", MeshFile.parse(file).services().getFirst().name());
    }

    @Test
    void aMissingFileSaysSo() {
        Path file = dir.resolve("nope.yaml");
        MeshFileException e = assertThrows(MeshFileException.class, () -> MeshFile.parse(file));
        assertEquals(file + ": no such file", e.getMessage().lines().findFirst().orElseThrow());
    }

    @Test
    void checkArtifactsNamesEachServiceWhoseJarIsNotThere() throws IOException, MeshFileException {
        Files.createDirectories(dir.resolve("a/target"));
        Files.writeString(dir.resolve("a/target/a.jar"), "PK");
        Files.createDirectories(dir.resolve("dir.jar"));
        Path file = dir.resolve("shmesh.yaml");
        Files.writeString(file, """
            services:
              - {name: a, artifact: a/target/a.jar}
              - {name: b, artifact: b/target/b.jar}
              - {name: c, artifact: dir.jar}
            """);
        MeshFile mesh = MeshFile.parse(file);
        assertEquals(
                List.of(
                        "service 'b': artifact " + dir.resolve("b/target/b.jar")
                                + " does not exist; build it first (./shmesh build) or fix the path",
                        "service 'c': artifact " + dir.resolve("dir.jar")
                                + " is not a regular file; build it first (./shmesh build) or fix the path"),
                mesh.checkArtifacts());

        Files.createDirectories(dir.resolve("b/target"));
        Files.writeString(dir.resolve("b/target/b.jar"), "PK");
        Files.delete(dir.resolve("dir.jar"));
        Files.writeString(dir.resolve("dir.jar"), "PK");
        assertEquals(List.of(), mesh.checkArtifacts());
    }

    @Test
    void checkArtifactsNamesAnUnreadableJar() throws IOException, MeshFileException {
        Path jar = dir.resolve("a.jar");
        Files.writeString(jar, "PK");
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("---------"));
        MeshFile mesh = MeshFile.parse("services:\n  - {name: a, artifact: a.jar}\n", dir.resolve("shmesh.yaml"));
        assumeFalse(
                Files.isReadable(jar),
                "runs as a user that can read a file of mode 000 (root): no unreadable file to test with");
        assertEquals(
                List.of("service 'a': artifact " + jar
                        + " is not readable; build it first (./shmesh build) or fix the path"),
                mesh.checkArtifacts());
    }
}
