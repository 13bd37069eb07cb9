package dev.shmesh.gateway;

import dev.shmesh.api.control.v1.Connection;
import dev.shmesh.api.control.v1.ConnectionPeer;
import dev.shmesh.api.control.v1.Side;
import dev.shmesh.grpc.shm.PeerIdentity;
import dev.shmesh.grpc.shm.ShmConnectionEnd;
import dev.shmesh.grpc.shm.ShmGrpc;
import java.io.IOException;
import org.jboss.logging.Logger;

/**
 * Makes the gRPC-over-shared-memory connections between the mesh's processes and hands each process its end over
 * its control connection: an edge worker gets a client end per compute worker, a compute worker a server end per
 * edge worker. Each end names the process at the other end as the gateway authenticated it (its slot, its pid, its
 * uid), so neither side can pose as another, and neither needs socket() or connect().
 *
 * <p>Called under the supervisor's lock; sends are short control frames.
 */
final class ConnectionMaker {
    private static final Logger LOG = Logger.getLogger(ConnectionMaker.class);
    /** The service name compute workers are called by. */
    static final String COMPUTE = "compute";
    /** The service name edge workers call as. */
    static final String EDGE = "edge";

    private final int ringCapacity;

    ConnectionMaker(int ringCapacity) {
        this.ringCapacity = ringCapacity;
    }

    ConnectionMaker() {
        this(ShmGrpc.DEFAULT_RING_CAPACITY);
    }

    /** Connects {@code edge} (client) to {@code compute} (server); false if either end could not be handed over. */
    boolean connect(WorkerSlot edge, WorkerSlot compute) {
        ControlServer.PeerSession edgeSession = edge.session;
        ControlServer.PeerSession computeSession = compute.session;
        if (edgeSession == null || computeSession == null) {
            return false;
        }
        ConnectionPeer edgePeer = peer(EDGE, edge, edgeSession);
        ConnectionPeer computePeer = peer(COMPUTE, compute, computeSession);
        ShmConnectionEnd.Pair pair;
        try {
            pair = ShmConnectionEnd.pair(ringCapacity, identity(edgePeer), identity(computePeer));
        } catch (IOException | RuntimeException e) {
            LOG.errorf("cannot make the connection %s -> %s: %s (digests from %s go to the other compute workers)",
                    edge.id, compute.id, e.getMessage(), edge.id);
            return false;
        }
        try (ShmConnectionEnd client = pair.client(); ShmConnectionEnd server = pair.server()) {
            boolean served = computeSession.sendConnection(Connection.newBuilder().setSide(Side.SIDE_SERVER)
                    .setService(COMPUTE).setReplica(compute.id).setPeer(edgePeer)
                    .setStreamWindow(server.streamWindow()).build(), server.fds());
            boolean called = served && edgeSession.sendConnection(Connection.newBuilder().setSide(Side.SIDE_CLIENT)
                    .setService(COMPUTE).setReplica(compute.id).setPeer(computePeer)
                    .setStreamWindow(client.streamWindow()).build(), client.fds());
            if (called) {
                LOG.debugf("connected %s to %s over shared memory", edge.id, compute.id);
            }
            return called;
        }
    }

    private static ConnectionPeer peer(String service, WorkerSlot slot, ControlServer.PeerSession session) {
        return ConnectionPeer.newBuilder().setService(service).setWorker(slot.id).setPid(slot.pid())
                .setUid((int) session.peerUid()).setGid((int) session.peerUid()).build();
    }

    private static PeerIdentity identity(ConnectionPeer p) {
        return new PeerIdentity(p.getService(), p.getWorker(), p.getPid(), p.getUid(), p.getGid());
    }
}
