package dev.shmesh.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The checks in {@link KubernetesManifestsTest} mean something only if the parsing refuses what it does not know. */
class StrictParsingTest {
    private static Path resource(String name) throws URISyntaxException {
        return Path.of(StrictParsingTest.class.getResource("/bad/" + name).toURI());
    }

    @Test
    void aMisspelledFieldIsRejectedWithItsNameAndPath() throws Exception {
        var doc = Manifests.readOne(resource("typo-deployment.yaml"));
        UnrecognizedPropertyException e = assertThrows(UnrecognizedPropertyException.class, () -> Manifests.typed(doc));
        assertEquals("readOnlyRootFilesytem", e.getPropertyName());
        assertTrue(e.getPathReference().contains("securityContext"), e.getPathReference());
    }

    @Test
    void anUnknownKindIsRejected() throws Exception {
        var doc = Manifests.readOne(resource("typo-deployment.yaml"));
        ((com.fasterxml.jackson.databind.node.ObjectNode) doc).put("kind", "Deploymnet");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Manifests.typed(doc));
        assertTrue(e.getMessage().contains("apps/v1/Deploymnet"), e.getMessage());
    }

    @Test
    void aDuplicateKeyIsRejected() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Manifests.readAll(resource("duplicate-key.yaml")));
        assertTrue(e.getMessage().contains("type"), e.getMessage());
    }

    @Test
    void aKustomizationFieldTheRendererDoesNotImplementIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kustomize.render(resource("unsupported")));
        assertTrue(e.getMessage().contains("'patches'"), e.getMessage());
    }
}
