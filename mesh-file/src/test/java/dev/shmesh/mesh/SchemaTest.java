package dev.shmesh.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code docs/shmesh.schema.json} describes the format the parser reads: the example files pass both, and files the
 * parser refuses for a reason a schema can express (unknown key, wrong enum, wrong type, pattern, range) fail both.
 */
class SchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static JsonSchema schema;

    @BeforeAll
    static void loadSchema() throws IOException {
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        schema = factory.getSchema(JSON.readTree(
                MeshFileTest.root().resolve("docs/shmesh.schema.json").toFile()));
    }

    /** The YAML as JSON, the way an editor's YAML language server hands it to a schema validator. */
    private static JsonNode json(String yaml) {
        Object value = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        return JSON.valueToTree(value);
    }

    private static Set<ValidationMessage> schemaErrors(String yaml) {
        return schema.validate(json(yaml));
    }

    @Test
    void theSchemaIsAValidDraft202012Schema() throws IOException {
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        JsonSchema meta = factory.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        JsonNode schemaJson = JSON.readTree(
                MeshFileTest.root().resolve("docs/shmesh.schema.json").toFile());
        assertEquals(Set.of(), meta.validate(schemaJson));
    }

    @Test
    void everyMappingOfTheSchemaRefusesUnknownKeys() throws IOException {
        JsonNode schemaJson = JSON.readTree(
                MeshFileTest.root().resolve("docs/shmesh.schema.json").toFile());
        List<String> open = new ArrayList<>();
        walk(schemaJson, "#", open);
        assertEquals(List.of(), open, "schemas of objects without \"additionalProperties\": false");
    }

    private static void walk(JsonNode node, String at, List<String> open) {
        if (node.isObject()) {
            if (node.path("type").asText().equals("object")
                    && !node.path("additionalProperties").isBoolean()) {
                open.add(at);
            } else if (node.path("type").asText().equals("object")
                    && node.path("additionalProperties").asBoolean()) {
                open.add(at);
            }
            node.properties().forEach(e -> walk(e.getValue(), at + "/" + e.getKey(), open));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                walk(node.get(i), at + "/" + i, open);
            }
        }
    }

    // ---- valid files pass both ----------------------------------------------------------------------------------

    @Test
    void theExampleMeshFilePassesTheSchemaAndTheParser() throws IOException, MeshFileException {
        Path file = MeshFileTest.root().resolve("examples/shmesh.yaml");
        String yaml = Files.readString(file);
        assertEquals(Set.of(), schemaErrors(yaml));
        MeshFile.parse(yaml, file);
    }

    @Test
    void theDocumentedExamplePassesTheSchemaAndTheParser() throws IOException, MeshFileException {
        Path doc = MeshFileTest.root().resolve("docs/mesh-file.md");
        Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(doc));
        assertTrue(m.find(), "docs/mesh-file.md has a ```yaml example");
        String yaml = m.group(1);
        assertEquals(Set.of(), schemaErrors(yaml));
        MeshFile mesh = MeshFile.parse(yaml, doc);
        assertEquals(2, mesh.services().size());
        assertEquals(
                MeshFileTest.root().resolve("examples/demo/target/quarkus-app/quarkus-run.jar"),
                mesh.services().getFirst().artifact());
    }

    @Test
    void everySeedTheFuzzerStartsFromThatTheParserTakesPassesTheSchema() throws IOException {
        Path seeds = Path.of("src/test/resources/dev/shmesh/mesh/MeshFileFuzzTestInputs/fuzzMeshFile");
        List<Path> files;
        try (var list = Files.list(seeds)) {
            files = list.sorted().toList();
        }
        int accepted = 0;
        for (Path f : files) {
            String yaml = Files.readString(f);
            try {
                MeshFile.parse(yaml, f);
            } catch (MeshFileException e) {
                continue;
            }
            accepted++;
            assertEquals(Set.of(), schemaErrors(yaml), f.toString());
        }
        assertTrue(accepted >= 3, "valid seeds: " + accepted);
    }

    // ---- invalid files fail both --------------------------------------------------------------------------------

    private static final String SERVICE = "services:\n  - name: demo\n    artifact: demo.jar\n";

    private static void refusedByBoth(String yaml) {
        assertThrows(MeshFileException.class, () -> MeshFile.parse(yaml, null), yaml);
        assertFalse(schemaErrors(yaml).isEmpty(), "the schema accepts:\n" + yaml);
    }

    @Test
    void unknownKeysFailBoth() {
        refusedByBoth("mesh: demo\nlistener: []\n" + SERVICE);
        refusedByBoth(SERVICE + "    replica: 2\n");
        refusedByBoth("edge: {replica: 2}\n" + SERVICE);
        refusedByBoth("listeners: [{name: a, address: 127.0.0.1, port: 1, host: x}]\n" + SERVICE);
        refusedByBoth(SERVICE + "    sandbox: {syscall: [read]}\n");
        refusedByBoth(SERVICE + "    resources: {heapsize: 1g}\n");
    }

    @Test
    void wrongEnumsFailBoth() {
        refusedByBoth(SERVICE + "    exposure: publik\n");
        refusedByBoth(SERVICE + "    exposure: Public\n");
        refusedByBoth("listeners: [{name: a, address: 127.0.0.1, port: 1, protocols: [http2]}]\n" + SERVICE);
    }

    @Test
    void wrongTypesFailBoth() {
        refusedByBoth(SERVICE + "    replicas: \"2\"\n");
        refusedByBoth(SERVICE + "    replicas: 1.5\n");
        refusedByBoth(SERVICE + "    grpc: shmesh.demo.v1.Demo\n");
        refusedByBoth(SERVICE + "    env: {VERBOSE: yes}\n");
        refusedByBoth(SERVICE + "    env: {PORT: 8080}\n");
        refusedByBoth(SERVICE + "    resources: {cpus: \"1\"}\n");
        refusedByBoth("mesh: 123\n" + SERVICE);
        refusedByBoth("edge: [2]\n" + SERVICE);
        refusedByBoth("services: {name: demo, artifact: demo.jar}\n");
        refusedByBoth("- " + SERVICE);
    }

    @Test
    void missingAndEmptyFailBoth() {
        refusedByBoth("mesh: demo\n");
        refusedByBoth("services: []\n");
        refusedByBoth("listeners: []\n" + SERVICE);
        refusedByBoth("services:\n  - name: demo\n");
        refusedByBoth("listeners: [{name: a, port: 1}]\n" + SERVICE);
    }

    @Test
    void patternsAndRangesFailBoth() {
        refusedByBoth("services:\n  - {name: Demo, artifact: demo.jar}\n");
        refusedByBoth("services:\n  - {name: gateway, artifact: demo.jar}\n");
        refusedByBoth("services:\n  - {name: demo, artifact: demo/target/classes}\n");
        refusedByBoth(SERVICE + "    replicas: 0\n");
        refusedByBoth(SERVICE + "    replicas: 65\n");
        refusedByBoth("listeners: [{name: a, address: 127.0.0.1, port: 65536}]\n" + SERVICE);
        refusedByBoth("listeners: [{name: a, address: example.com, port: 80}]\n" + SERVICE);
        refusedByBoth(SERVICE + "    grpc: [shmesh..Demo]\n");
        refusedByBoth(SERVICE + "    exposure: public\n    http: [v1/]\n");
        refusedByBoth(SERVICE + "    exposure: public\n    http: [/v1//x]\n");
        refusedByBoth(SERVICE + "    exposure: public\n    http: [/v1/../x]\n");
        refusedByBoth(SERVICE + "    exposure: public\n    http: [/v1/.]\n");
        refusedByBoth(SERVICE + "    exposure: public\n    http: ['/v1?x']\n");
        refusedByBoth(SERVICE + "    env: {SHMESH_TOKEN: x}\n");
        refusedByBoth(SERVICE + "    env: {1ST: x}\n");
        refusedByBoth(SERVICE + "    sandbox: {syscalls: [Execve]}\n");
        refusedByBoth(SERVICE + "    sandbox: {paths: [etc/ssl]}\n");
        refusedByBoth(SERVICE + "    sandbox: {paths: [/]}\n");
        refusedByBoth(SERVICE + "    sandbox: {paths: [/etc/../root]}\n");
        refusedByBoth(SERVICE + "    resources: {heap: 256}\n");
        refusedByBoth(SERVICE + "    resources: {heap: 256MB}\n");
        refusedByBoth(SERVICE + "    resources: {memory: 512M}\n");
        refusedByBoth(SERVICE + "    resources: {memory: 0}\n");
        refusedByBoth(SERVICE + "    resources: {pids: 0}\n");
        refusedByBoth(SERVICE + "    resources: {cpus: 0}\n");
        refusedByBoth(SERVICE + "    resources: {cpus: 1025}\n");
        refusedByBoth(SERVICE + "    grpc: [a.B, a.B]\n");
    }

    @Test
    void httpAndListenOnAnInternalServiceFailBoth() {
        refusedByBoth(SERVICE + "    http: [/v1/]\n");
        refusedByBoth(SERVICE + "    exposure: internal\n    listen: 9090\n");
        assertEquals(Set.of(), schemaErrors(SERVICE + "    exposure: public\n    http: [/v1/]\n    listen: 9090\n"));
    }
}
