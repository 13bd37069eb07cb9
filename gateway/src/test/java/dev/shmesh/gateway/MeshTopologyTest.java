package dev.shmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.shmesh.api.control.ProcessRole;
import dev.shmesh.api.control.v1.Route;
import dev.shmesh.mesh.MeshFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Who runs and who is connected to whom: a process holds only the rings of its own conversations. */
class MeshTopologyTest {
    private static final MeshFile FILE;

    static {
        try {
            FILE = MeshFile.parse("""
                    edge:
                      replicas: 2
                    services:
                      - name: shop
                        artifact: shop.jar
                        replicas: 2
                        exposure: public
                        grpc: [acme.Shop]
                        http: [/shop/]
                        calls: [stock]
                      - name: stock
                        artifact: stock.jar
                        exposure: internal
                        grpc: [acme.Stock]
                      - name: audit
                        artifact: audit.jar
                        exposure: internal
                        grpc: [acme.Audit]
                    """, Path.of("/srv/mesh/shmesh.yaml"));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static Map<String, MeshTopology.Slot> slots(MeshTopology topology) {
        return topology.slots().stream().collect(Collectors.toMap(MeshTopology.Slot::id, Function.identity()));
    }

    @Test
    void aMeshFileRunsItsEdgesThenEachReplicaOfEachServiceUnderItsOwnName() {
        MeshTopology topology = MeshTopology.of(FILE);
        assertEquals(List.of("worker-1", "worker-2", "shop-1", "shop-2", "stock-1", "audit-1"),
                topology.slots().stream().map(MeshTopology.Slot::id).toList());
        MeshTopology.Slot shop2 = slots(topology).get("shop-2");
        assertEquals(ProcessRole.SERVICE, shop2.role());
        assertEquals("shop", shop2.serviceName());
        assertEquals(Path.of("/srv/mesh/shop.jar"), shop2.service().artifact());
        assertEquals("edge", slots(topology).get("worker-1").serviceName());
    }

    @Test
    void edgesAreRoutedToPublicServicesOnly() {
        assertEquals(List.of(Route.newBuilder().setService("shop").addGrpcServices("acme.Shop")
                .addHttpPrefixes("/shop/").build()), MeshTopology.of(FILE).routes());
    }

    @Test
    void anEdgeCallsPublicServicesAndAServiceCallsOnlyWhatItListsInCalls() {
        Map<String, MeshTopology.Slot> s = slots(MeshTopology.of(FILE));
        assertEquals("shop", MeshTopology.connection(s.get("worker-1"), s.get("shop-1")));
        assertNull(MeshTopology.connection(s.get("worker-1"), s.get("stock-1")), "internal: the edge has no way in");
        assertEquals("stock", MeshTopology.connection(s.get("shop-2"), s.get("stock-1")));
        assertNull(MeshTopology.connection(s.get("shop-1"), s.get("audit-1")), "not in shop's calls");
        assertNull(MeshTopology.connection(s.get("stock-1"), s.get("shop-1")), "calls are one-way");
        assertNull(MeshTopology.connection(s.get("shop-1"), s.get("worker-1")), "nobody calls an edge");
        assertNull(MeshTopology.connection(s.get("shop-1"), s.get("shop-2")), "nor its own replicas");
    }

    @Test
    void theBuiltInDemoIsABrokerEdgesAndComputeWorkersTheEdgesCall() {
        MeshTopology demo = MeshTopology.demo(2, true, 1);
        assertEquals(List.of("broker", "worker-1", "worker-2", "compute-1"),
                demo.slots().stream().map(MeshTopology.Slot::id).toList());
        Map<String, MeshTopology.Slot> s = slots(demo);
        assertEquals("compute", MeshTopology.connection(s.get("worker-2"), s.get("compute-1")));
        assertNull(MeshTopology.connection(s.get("worker-2"), s.get("broker")));
        assertEquals(List.of("worker-1"), MeshTopology.demo(1, false, 3).slots().stream()
                .map(MeshTopology.Slot::id).toList(), "no broker, no compute workers");
    }
}
