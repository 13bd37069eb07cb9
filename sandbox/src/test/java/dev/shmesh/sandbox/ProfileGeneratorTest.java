package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checked-in files under deploy/ are exactly what the generator produces from the shipped policies. */
class ProfileGeneratorTest {

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.isRegularFile(p.resolve("shmesh")) && Files.isRegularFile(p.resolve("pom.xml")))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("no repository root (a directory with ./shmesh and pom.xml) above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    @Test
    void checkedInDeployFilesMatchTheGenerator() throws Exception {
        Path root = repoRoot();
        for (Map.Entry<Path, String> e : ProfileGenerator.files().entrySet()) {
            Path file = root.resolve(e.getKey());
            String fix = " — regenerate from the repository root with: "
                    + "java --enable-native-access=ALL-UNNAMED -cp sandbox/target/classes:linux/target/classes dev.shmesh.sandbox.ProfileGenerator .";
            assertTrue(Files.isRegularFile(file), file + " is missing" + fix);
            assertEquals(e.getValue(), Files.readString(file), file + " differs from the policy" + fix);
        }
    }

    @Test
    void workerProfileDeniesByDefaultAndKeepsArgumentRules() {
        String json = ProfileGenerator.ociSeccompJson(SandboxPolicy.named("worker"));
        assertTrue(json.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""), json);
        assertTrue(json.contains("\"defaultErrnoRet\": 1"), json);
        assertTrue(json.contains("{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 2114125824, \"valueTwo\": 65536, \"op\": \"SCMP_CMP_MASKED_EQ\"}]"), json);
        assertTrue(json.contains("{\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38"), json);
        // socket/connect reach the control socket at boot, before the in-JVM filter (which denies both) is armed: an
        // AF_UNIX socket only, so even a container that shares a network namespace (a Kubernetes pod) opens no inet one
        assertTrue(json.contains("{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0,"
                + " \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}], \"comment\": \"startup:"), json);
        assertTrue(SandboxPolicy.named("worker").rules().stream().noneMatch(r -> r.name().equals("socket")
                        && r.action() == SandboxPolicy.Action.ALLOW),
                "the in-JVM worker filter never allows socket()");
        // the runtime execs the JVM under this profile: execve is a startup syscall here
        assertTrue(json.contains("{\"names\": [\"execve\"], \"action\": \"SCMP_ACT_ALLOW\""), json);
    }

    @Test
    void securityContextMeetsTheRestrictedProfile() {
        String yaml = ProfileGenerator.kubernetesSecurityContext(SandboxPolicy.named("worker"), "worker");
        for (String line : new String[] {"runAsNonRoot: true", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true",
                "drop: [\"ALL\"]", "type: Localhost", "localhostProfile: shmesh/worker.json"}) {
            assertTrue(yaml.contains(line), line + " in\n" + yaml);
        }
    }
}
