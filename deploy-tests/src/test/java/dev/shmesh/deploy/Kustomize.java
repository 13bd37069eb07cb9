package dev.shmesh.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A kustomize renderer for exactly the subset deploy/k8s uses (there is no kubectl or kustomize binary in
 * the build): {@code resources} (files and kustomization directories), {@code namespace}, {@code images}
 * ({@code name}, {@code newName}, {@code newTag}) and {@code secretGenerator} (literals, with
 * {@code disableNameSuffixHash: true}). Any other key makes rendering fail, so a manifest change that this
 * renderer would render differently from {@code kubectl kustomize} cannot pass unnoticed.
 */
final class Kustomize {
    private static final Set<String> SUPPORTED =
            Set.of("apiVersion", "kind", "resources", "namespace", "images", "secretGenerator");
    private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace");

    private Kustomize() {}

    /** Renders the kustomization in {@code dir}: the resources in order, then the generated objects. */
    static List<ObjectNode> render(Path dir) {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no kustomization.yaml in " + dir);
        }
        JsonNode k = Manifests.readOne(file);
        for (Iterator<String> names = k.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!SUPPORTED.contains(name)) {
                throw new IllegalArgumentException(file + ": kustomization field '" + name
                        + "' is not supported by this renderer (supported: " + SUPPORTED + ")");
            }
        }
        require(file, "apiVersion", k.path("apiVersion").asText(), "kustomize.config.k8s.io/v1beta1");
        require(file, "kind", k.path("kind").asText(), "Kustomization");

        List<ObjectNode> out = new ArrayList<>();
        for (JsonNode r : k.path("resources")) {
            Path p = dir.resolve(r.asText()).normalize();
            if (Files.isDirectory(p)) {
                out.addAll(render(p));
            } else {
                for (JsonNode doc : Manifests.readAll(p)) {
                    out.add((ObjectNode) doc);
                }
            }
        }
        for (JsonNode g : k.path("secretGenerator")) {
            out.add(secret(file, g));
        }
        if (k.hasNonNull("namespace")) {
            String ns = k.get("namespace").asText();
            for (ObjectNode o : out) {
                if (!CLUSTER_SCOPED.contains(o.path("kind").asText())) {
                    ((ObjectNode) o.get("metadata")).put("namespace", ns);
                }
            }
        }
        for (JsonNode image : k.path("images")) {
            for (ObjectNode o : out) {
                retag(o.path("spec").path("template").path("spec").path("containers"), image);
                retag(o.path("spec").path("template").path("spec").path("initContainers"), image);
            }
        }
        return out;
    }

    private static void retag(JsonNode containers, JsonNode image) {
        String name = image.path("name").asText();
        for (JsonNode c : containers) {
            String ref = c.path("image").asText();
            int at = ref.indexOf('@');
            int colon = ref.lastIndexOf(':');
            int slash = ref.lastIndexOf('/');
            String repo = at >= 0 ? ref.substring(0, at) : colon > slash ? ref.substring(0, colon) : ref;
            String tag = at >= 0 ? ref.substring(at) : colon > slash ? ref.substring(colon) : "";
            if (!repo.equals(name)) {
                continue;
            }
            String newRepo = image.hasNonNull("newName") ? image.get("newName").asText() : repo;
            String newTag = image.hasNonNull("newTag") ? ":" + image.get("newTag").asText() : tag;
            ((ObjectNode) c).put("image", newRepo + newTag);
        }
    }

    private static ObjectNode secret(Path file, JsonNode g) {
        for (Iterator<String> names = g.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!Set.of("name", "type", "literals", "options").contains(name)) {
                throw new IllegalArgumentException(file + ": secretGenerator field '" + name + "' is not supported");
            }
        }
        // kustomize appends a content hash to the name unless told not to; this renderer does not compute it
        if (!g.path("options").path("disableNameSuffixHash").asBoolean(false)) {
            throw new IllegalArgumentException(file + ": secretGenerator " + g.path("name").asText()
                    + " needs options.disableNameSuffixHash: true (the Deployment refers to the Secret by name)");
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode s = f.objectNode();
        s.put("apiVersion", "v1");
        s.put("kind", "Secret");
        s.putObject("metadata").put("name", g.path("name").asText());
        s.put("type", g.path("type").asText("Opaque"));
        ObjectNode data = s.putObject("data");
        ArrayNode literals = (ArrayNode) g.path("literals");
        for (JsonNode l : literals) {
            String kv = l.asText();
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(file + ": secretGenerator literal without key=value: " + kv);
            }
            data.put(kv.substring(0, eq),
                    Base64.getEncoder().encodeToString(kv.substring(eq + 1).getBytes(StandardCharsets.UTF_8)));
        }
        return s;
    }

    private static void require(Path file, String field, String actual, String expected) {
        if (!expected.equals(actual)) {
            throw new IllegalArgumentException(file + ": " + field + "=" + actual + ", expected " + expected);
        }
    }
}
