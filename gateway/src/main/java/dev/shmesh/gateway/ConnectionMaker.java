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
 * its control connection: the caller gets a client end per replica it calls, the replica a server end per caller
 * ({@link MeshTopology#connection} says who calls whom). Each end names the process at the other end as the gateway
 * authenticated it (its service, its slot, its pid, its uid), so neither side can pose as another, and neither needs
 * socket() or connect(). The two rings of a connection are anonymous memory (sealed memfds) that only these two
 * processes hold: no third process can map them.
 *
 * <p>Called under the supervisor's lock; sends are short control frames.
 */
final class ConnectionMaker {
    private static final Logger LOG = Logger.getLogger(ConnectionMaker.class);
    private final int ringCapacity;

    ConnectionMaker(int ringCapacity) {
        this.ringCapacity = ringCapacity;
    }

    ConnectionMaker() {
        this(ShmGrpc.DEFAULT_RING_CAPACITY);
    }

    /**
     * Connects {@code caller} (client) to {@code replica} (a replica of {@code service}, server); false if
     * either end could not be handed over.
     */
    boolean connect(WorkerSlot caller, WorkerSlot replica, String service) {
        ControlServer.PeerSession callerSession = caller.session;
        ControlServer.PeerSession replicaSession = replica.session;
        if (callerSession == null || replicaSession == null) {
            return false;
        }
        ConnectionPeer callerPeer = peer(caller.plan.serviceName(), caller, callerSession);
        ConnectionPeer replicaPeer = peer(service, replica, replicaSession);
        ShmConnectionEnd.Pair pair;
        try {
            pair = ShmConnectionEnd.pair(ringCapacity, identity(callerPeer), identity(replicaPeer));
        } catch (IOException | RuntimeException e) {
            LOG.errorf("cannot make the connection %s -> %s: %s (calls from %s go to the other replicas of %s)",
                    caller.id, replica.id, e.getMessage(), caller.id, service);
            return false;
        }
        try (ShmConnectionEnd client = pair.client(); ShmConnectionEnd server = pair.server()) {
            boolean served = replicaSession.sendConnection(Connection.newBuilder().setSide(Side.SIDE_SERVER)
                    .setService(service).setReplica(replica.id).setPeer(callerPeer)
                    .setStreamWindow(server.streamWindow()).build(), server.fds());
            boolean called = served && callerSession.sendConnection(Connection.newBuilder().setSide(Side.SIDE_CLIENT)
                    .setService(service).setReplica(replica.id).setPeer(replicaPeer)
                    .setStreamWindow(client.streamWindow()).build(), client.fds());
            if (called) {
                LOG.debugf("connected %s to %s (%s) over shared memory", caller.id, replica.id, service);
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
