package dev.shmesh.deploy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Strict YAML reading for the deploy/ files.
 *
 * <p>The fabric8 model classes catch every field they do not know in an {@code @JsonAnySetter} map, so
 * {@code FAIL_ON_UNKNOWN_PROPERTIES} alone would accept {@code readOnlyRootFilesytem: true} silently. This
 * mapper's introspector switches any-setters off, which makes an unknown field anywhere in a manifest an
 * {@code UnrecognizedPropertyException} naming the field and its path. Duplicate keys are errors too.
 */
final class Manifests {
    /** The kinds deploy/k8s may contain, by {@code apiVersion/kind}; anything else is an error. */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "apps/v1/Deployment", Deployment.class,
            "v1/Service", Service.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "v1/Namespace", Namespace.class,
            "v1/Secret", Secret.class);

    static final ObjectMapper YAML = strictMapper();

    private Manifests() {}

    private static ObjectMapper strictMapper() {
        ObjectMapper m = new ObjectMapper(new YAMLFactory());
        m.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        m.enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
        m.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        m.setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
            private static final long serialVersionUID = 1L;

            @Override
            public Boolean hasAnySetter(Annotated a) {
                return Boolean.FALSE;
            }
        });
        return m;
    }

    /** The repository root (set by surefire; the working directory otherwise). */
    static Path root() {
        return Path.of(System.getProperty("shmesh.root", "..")).toAbsolutePath().normalize();
    }

    /** Every YAML document of a file, in order; empty documents are skipped. */
    static List<JsonNode> readAll(Path file) {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return docs;
    }

    static JsonNode readOne(Path file) {
        List<JsonNode> docs = readAll(file);
        if (docs.size() != 1) {
            throw new IllegalArgumentException("expected one YAML document in " + file + ", found " + docs.size());
        }
        return docs.getFirst();
    }

    /** Binds a rendered object to its fabric8 type, strictly; an unknown kind or field throws. */
    static HasMetadata typed(JsonNode object) throws IOException {
        String key = object.path("apiVersion").asText() + "/" + object.path("kind").asText();
        Class<? extends HasMetadata> type = KINDS.get(key);
        if (type == null) {
            throw new IllegalArgumentException("unexpected kind " + key + " (known: " + KINDS.keySet() + ")");
        }
        return YAML.treeToValue(object, type);
    }
}
