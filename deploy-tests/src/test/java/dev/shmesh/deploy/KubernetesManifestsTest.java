package dev.shmesh.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dev overlay, rendered and bound strictly to the fabric8 model, checked container by container against
 * Pod Security "restricted" and the shmesh design (one pod = gateway + workers, gRPC probes on 8080, shared
 * memory on a bounded in-memory emptyDir, control socket on an emptyDir, one Secret for the mesh token).
 */
class KubernetesManifestsTest {
    private static final Path OVERLAY = Manifests.root().resolve("deploy/k8s/overlays/dev");
    private static List<HasMetadata> objects;

    @BeforeAll
    static void render() throws IOException {
        objects = new ArrayList<>();
        for (ObjectNode o : Kustomize.render(OVERLAY)) {
            objects.add(Manifests.typed(o));
        }
    }

    private static <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T extends HasMetadata> T one(Class<T> type) {
        List<T> found = all(type);
        assertEquals(1, found.size(), "exactly one " + type.getSimpleName() + " in the dev overlay");
        return found.getFirst();
    }

    private static PodSpec pod() {
        return one(Deployment.class).getSpec().getTemplate().getSpec();
    }

    private static List<Container> workers() {
        return pod().getContainers().stream().filter(c -> c.getName().startsWith("worker-")).toList();
    }

    private static Container gateway() {
        return pod().getContainers().stream().filter(c -> c.getName().equals("gateway")).findFirst()
                .orElseThrow(() -> new AssertionError("no gateway container"));
    }

    @Test
    void overlayRendersTheExpectedObjects() {
        Map<String, Long> kinds = objects.stream().collect(Collectors.groupingBy(HasMetadata::getKind, Collectors.counting()));
        assertEquals(Map.of("Namespace", 1L, "Deployment", 1L, "Service", 1L, "PodDisruptionBudget", 1L, "Secret", 1L), kinds);
        for (HasMetadata o : objects) {
            if (!(o instanceof Namespace)) {
                assertEquals("shmesh-dev", o.getMetadata().getNamespace(), o.getKind() + " namespace");
            }
        }
        Namespace ns = one(Namespace.class);
        assertEquals("restricted", ns.getMetadata().getLabels().get("pod-security.kubernetes.io/enforce"));
    }

    @Test
    void onePodIsAGatewayAndWorkers() {
        Deployment d = one(Deployment.class);
        assertTrue(d.getSpec().getReplicas() >= 2, "replicas >= 2 so that a PDB can allow a disruption");
        assertEquals(d.getSpec().getSelector().getMatchLabels().entrySet().stream().allMatch(
                e -> e.getValue().equals(d.getSpec().getTemplate().getMetadata().getLabels().get(e.getKey()))), true,
                "the selector matches the pod labels");
        assertNotNull(gateway());
        assertTrue(workers().size() >= 1, "at least one worker container");
        List<String> names = pod().getContainers().stream().map(Container::getName).toList();
        assertTrue(names.contains("broker"), "the pod has a broker container: " + names);
        assertTrue(names.stream().anyMatch(n -> n.startsWith("compute-")), "and a compute worker: " + names);
        long computes = names.stream().filter(n -> n.startsWith("compute-")).count();
        assertEquals(2 + workers().size() + computes, names.size(), "only gateway, broker, worker-N and compute-N: " + names);
        for (Container c : pod().getContainers()) {
            if (!c.getName().equals("gateway")) {
                // the pod's containers share one network namespace: the in-JVM filter is the network barrier
                String policy = c.getName().equals("broker") ? "broker" : "worker";
                assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("SHMESH_SECCOMP") && policy.equals(e.getValue())),
                        c.getName() + " arms the in-JVM seccomp policy " + policy);
                assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("SHMESH_STRICT") && "1".equals(e.getValue())),
                        c.getName() + " refuses to run if its in-JVM seccomp filter cannot be armed (strict)");
            }
            if (c.getName().equals("broker") || c.getName().startsWith("compute-")) {
                String role = c.getName().equals("broker") ? "broker" : "compute";
                assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("SHMESH_ROLE") && role.equals(e.getValue())),
                        c.getName() + " runs the " + role + " role");
                assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/dev/shm")),
                        c.getName() + " mounts the pod's /dev/shm");
            }
        }
        assertEquals(Boolean.FALSE, pod().getShareProcessNamespace());
        assertEquals(Boolean.FALSE, pod().getAutomountServiceAccountToken());
        assertEquals(List.of("-jar", "/app/gateway/quarkus-run.jar"), gateway().getArgs());
        for (Container c : pod().getContainers()) {
            assertEquals("shmesh:0.1.0", c.getImage(), c.getName() + " image (retagged by the overlay)");
            assertTrue(c.getCommand() == null || c.getCommand().isEmpty(), c.getName() + ": the image's ENTRYPOINT runs java @/app/jvm.options");
        }
        for (Container w : workers()) {
            assertTrue(w.getArgs() == null || w.getArgs().isEmpty(), w.getName() + ": the image's default command is the worker");
        }
    }

    @Test
    void everyContainerMeetsPodSecurityRestricted() {
        PodSpec pod = pod();
        assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), "pod runAsNonRoot");
        assertEquals(10001L, pod.getSecurityContext().getRunAsUser(), "pod runAsUser");
        assertNotNull(pod.getSecurityContext().getSeccompProfile(), "pod seccompProfile");
        assertTrue(pod.getInitContainers() == null || pod.getInitContainers().isEmpty(), "no init containers");
        assertTrue(pod.getHostNetwork() == null || !pod.getHostNetwork(), "no hostNetwork");
        assertTrue(pod.getHostPID() == null || !pod.getHostPID(), "no hostPID");
        assertTrue(pod.getHostIPC() == null || !pod.getHostIPC(), "no hostIPC");
        for (Volume v : pod.getVolumes()) {
            assertTrue(v.getHostPath() == null, v.getName() + ": no hostPath volumes");
        }
        for (Container c : pod.getContainers()) {
            String n = c.getName();
            SecurityContext sc = c.getSecurityContext();
            assertNotNull(sc, n + " securityContext");
            assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), n + " runAsNonRoot");
            assertEquals(10001L, sc.getRunAsUser(), n + " runAsUser: the gateway admits control peers with its own uid");
            assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), n + " allowPrivilegeEscalation");
            assertTrue(sc.getPrivileged() == null || !sc.getPrivileged(), n + " privileged");
            assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), n + " readOnlyRootFilesystem");
            Capabilities caps = sc.getCapabilities();
            assertNotNull(caps, n + " capabilities");
            assertEquals(List.of("ALL"), caps.getDrop(), n + " drops ALL capabilities");
            List<String> added = caps.getAdd() == null ? List.of() : caps.getAdd();
            assertTrue(Set.of("NET_BIND_SERVICE").containsAll(added), n + " adds only NET_BIND_SERVICE, if anything: " + added);
            assertNotNull(sc.getSeccompProfile(), n + " seccompProfile");
            String type = sc.getSeccompProfile().getType();
            assertTrue(type.equals("Localhost") || type.equals("RuntimeDefault"), n + " seccompProfile type " + type);
            if (type.equals("Localhost")) {
                String profile = sc.getSeccompProfile().getLocalhostProfile();
                String expected = n.equals("gateway") ? "shmesh/gateway.json"
                        : n.equals("broker") ? "shmesh/broker.json" : "shmesh/worker.json";
                assertEquals(expected, profile, n + " localhostProfile");
            }
        }
    }

    @Test
    void everyContainerHasResourcesAndAPrivateTmp() {
        Map<String, Volume> volumes = pod().getVolumes().stream().collect(Collectors.toMap(Volume::getName, v -> v));
        Set<String> tmpVolumes = new java.util.HashSet<>();
        for (Container c : pod().getContainers()) {
            String n = c.getName();
            var r = c.getResources();
            assertNotNull(r, n + " resources");
            for (String key : List.of("cpu", "memory")) {
                Quantity request = r.getRequests() == null ? null : r.getRequests().get(key);
                Quantity limit = r.getLimits() == null ? null : r.getLimits().get(key);
                assertNotNull(request, n + " requests." + key);
                assertNotNull(limit, n + " limits." + key);
                assertTrue(Quantity.getAmountInBytes(request).compareTo(Quantity.getAmountInBytes(limit)) <= 0,
                        n + " request <= limit for " + key);
            }
            Map<String, String> mounts = c.getVolumeMounts().stream()
                    .collect(Collectors.toMap(VolumeMount::getMountPath, VolumeMount::getName));
            String tmp = mounts.get("/tmp");
            assertNotNull(tmp, n + " mounts a writable /tmp (read-only root file system)");
            assertTrue(tmpVolumes.add(tmp), n + " /tmp is not shared with another container");
            assertNotNull(volumes.get(tmp).getEmptyDir(), n + " /tmp is an emptyDir");
            assertEquals("control", mounts.get("/run/shmesh"), n + " mounts the control socket directory");
            assertEquals("dev-shm", mounts.get("/dev/shm"), n + " mounts the shared-memory emptyDir at /dev/shm");
        }
        var shm = volumes.get("dev-shm").getEmptyDir();
        assertNotNull(shm, "/dev/shm is an emptyDir");
        assertEquals("Memory", shm.getMedium(), "/dev/shm emptyDir medium");
        assertNotNull(shm.getSizeLimit(), "/dev/shm emptyDir sizeLimit (tmpfs counts against the pod's memory)");
        assertEquals(0, Quantity.getAmountInBytes(shm.getSizeLimit()).compareTo(Quantity.getAmountInBytes(new Quantity("256Mi"))));
        assertNotNull(volumes.get("control").getEmptyDir(), "the control socket lives on an emptyDir");
    }

    @Test
    void probesUseTheStandardGrpcHealthServiceOn8080() {
        for (Container c : pod().getContainers()) {
            Probe readiness = c.getReadinessProbe();
            assertNotNull(readiness, c.getName() + " readinessProbe");
            assertNotNull(readiness.getGrpc(), c.getName() + " readinessProbe is a gRPC probe");
            assertEquals(8080, readiness.getGrpc().getPort(), c.getName() + " readiness port");
            Probe liveness = c.getLivenessProbe();
            assertNotNull(liveness, c.getName() + " livenessProbe");
            if (c.getName().equals("gateway")) {
                // the gateway's own liveness: its admin endpoint (restarting it for dead workers would not help)
                assertEquals("/health/live", liveness.getHttpGet().getPath());
                assertEquals("admin", liveness.getHttpGet().getPort().getStrVal());
            } else {
                assertNotNull(liveness.getGrpc(), c.getName() + " livenessProbe is a gRPC probe");
                assertEquals(8080, liveness.getGrpc().getPort(), c.getName() + " liveness port");
            }
        }
    }

    @Test
    void tokenComesFromOneSecretAndModesAreSet() {
        Secret secret = one(Secret.class);
        assertEquals("shmesh-mesh", secret.getMetadata().getName());
        String token = new String(Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.UTF_8);
        assertFalse(token.isBlank(), "the dev token is set");

        Map<String, EnvVar> gw = env(gateway());
        assertEquals("container", gw.get("SHMESH_MODE").getValue());
        assertSecretRef(gw.get("SHMESH_MESH_TOKEN"), "gateway SHMESH_MESH_TOKEN");
        assertEquals("/run/shmesh", gw.get("SHMESH_RUN_DIR").getValue());
        assertEquals("8080", gw.get("SHMESH_LISTEN_PORT").getValue());
        Set<String> ids = new java.util.HashSet<>();
        for (Container w : workers()) {
            Map<String, EnvVar> env = env(w);
            assertEquals("/run/shmesh/control.sock", env.get("SHMESH_CONTROL_SOCKET").getValue(), w.getName());
            assertSecretRef(env.get("SHMESH_TOKEN"), w.getName() + " SHMESH_TOKEN");
            assertTrue(ids.add(env.get("SHMESH_WORKER_ID").getValue()), w.getName() + " has its own SHMESH_WORKER_ID");
        }
    }

    private static void assertSecretRef(EnvVar v, String what) {
        assertNotNull(v, what);
        assertTrue(v.getValue() == null, what + " is not a literal");
        assertEquals("shmesh-mesh", v.getValueFrom().getSecretKeyRef().getName(), what);
        assertEquals("token", v.getValueFrom().getSecretKeyRef().getKey(), what);
    }

    private static Map<String, EnvVar> env(Container c) {
        return c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    }

    @Test
    void serviceAndDisruptionBudgetSelectThePods() {
        Map<String, String> podLabels = one(Deployment.class).getSpec().getTemplate().getMetadata().getLabels();
        Service svc = one(Service.class);
        assertTrue(podLabels.entrySet().containsAll(svc.getSpec().getSelector().entrySet()), "Service selects the pods");
        assertEquals(1, svc.getSpec().getPorts().size(), "one port: HTTP/1.1, h2c and gRPC");
        ServicePort port = svc.getSpec().getPorts().getFirst();
        assertEquals("http", port.getName());
        assertEquals(8080, port.getPort());
        assertEquals("http", port.getTargetPort().getStrVal());
        assertEquals("kubernetes.io/h2c", port.getAppProtocol());
        assertTrue(gateway().getPorts().stream().anyMatch(p -> "http".equals(p.getName()) && p.getContainerPort() == 8080),
                "the gateway declares port http = 8080");

        PodDisruptionBudget pdb = one(PodDisruptionBudget.class);
        assertTrue(podLabels.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()), "PDB selects the pods");
        if (pdb.getSpec().getMaxUnavailable() == null && pdb.getSpec().getMinAvailable() == null) {
            fail("PDB sets maxUnavailable or minAvailable");
        }

        Map<String, String> annotations = one(Deployment.class).getSpec().getTemplate().getMetadata().getAnnotations();
        assertEquals("true", annotations.get("prometheus.io/scrape"));
        assertEquals("9901", annotations.get("prometheus.io/port"));
        assertEquals("/metrics", annotations.get("prometheus.io/path"));
    }
}
