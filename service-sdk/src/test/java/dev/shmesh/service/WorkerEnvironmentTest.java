package dev.shmesh.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.api.control.ProcessRole;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The environment a gateway or a container runtime gives a mesh process, read once into a record. */
class WorkerEnvironmentTest {
    @Test
    void withoutAControlSocketTheProcessRunsAloneAsAnEdgeNamedAfterItsPid() {
        WorkerEnvironment env = WorkerEnvironment.of(Map.of());
        assertFalse(env.inMesh());
        assertEquals(ProcessRole.EDGE, env.role());
        assertEquals("standalone-" + ProcessHandle.current().pid(), env.instanceId());
        assertEquals("default", env.mesh());
        assertEquals(Duration.ofSeconds(30), env.connectTimeout());
        assertFalse(env.strict());
        assertEquals(Optional.empty(), env.seccompPolicy());
    }

    @Test
    void aSpawnedReplicaIsNamedByTheGatewayAndReadsItsTokenFromStdin() {
        WorkerEnvironment env = WorkerEnvironment.of(Map.of("SHMESH_CONTROL_SOCKET", "/run/shmesh/control.sock",
                "SHMESH_WORKER_ID", "quotes-2", "SHMESH_ROLE", "service", "SHMESH_SERVICE", "quotes",
                "SHMESH_TOKEN_FROM", "stdin", "SHMESH_SECCOMP", "worker", "SHMESH_STRICT", "1", "SHMESH_MESH", "shop"));
        assertTrue(env.inMesh());
        assertEquals(Optional.of(Path.of("/run/shmesh/control.sock")), env.controlSocket());
        assertEquals("quotes-2", env.instanceId());
        assertEquals(ProcessRole.SERVICE, env.role());
        assertEquals(Optional.of("quotes"), env.service());
        assertTrue(env.tokenFromStdin());
        assertEquals(Optional.of("worker"), env.seccompPolicy());
        assertTrue(env.strict());
        assertEquals("shop", env.mesh());
    }

    @Test
    void inAContainerTheInstanceIsNamedAfterWhatItIsAndItsHostName() {
        Map<String, String> base = Map.of("SHMESH_CONTROL_SOCKET", "/run/c.sock", "HOSTNAME", "pod-7",
                "SHMESH_TOKEN", "mesh-token-of-16+");
        assertEquals("worker-pod-7", WorkerEnvironment.of(base).instanceId());
        Map<String, String> service = new java.util.HashMap<>(base);
        service.putAll(Map.of("SHMESH_ROLE", "service", "SHMESH_SERVICE", "ledger"));
        assertEquals("ledger-pod-7", WorkerEnvironment.of(service).instanceId());
        assertEquals("mesh-token-of-16+", WorkerEnvironment.of(base).containerToken());
        assertFalse(WorkerEnvironment.of(base).tokenFromStdin());
    }

    @Test
    void aWrongValueNamesTheVariableAndWhatItTakes() {
        IllegalArgumentException role = assertThrows(IllegalArgumentException.class,
                () -> WorkerEnvironment.of(Map.of("SHMESH_ROLE", "sidecar")));
        assertEquals("SHMESH_ROLE: role=sidecar is not one of: edge, compute, broker, service", role.getMessage());
        IllegalArgumentException timeout = assertThrows(IllegalArgumentException.class,
                () -> WorkerEnvironment.of(Map.of("SHMESH_CONNECT_TIMEOUT_MS", "soon")));
        assertTrue(timeout.getMessage().startsWith("SHMESH_CONNECT_TIMEOUT_MS=soon"), timeout.getMessage());
    }
}
