package dev.shmesh.grpc.shm;

import java.util.Map;

/**
 * Names the peer of an accepted connection from what the kernel says about it. In the mesh every service runs
 * under its own uid, so the uid names the service; a peer cannot claim another's.
 */
@FunctionalInterface
public interface PeerAttestor {
    /** The identity of a peer with these kernel credentials. */
    PeerIdentity attest(long pid, int uid, int gid);

    /** Attests pid and uid only; the service stays unknown ({@code null}). */
    static PeerAttestor kernelOnly() {
        return (pid, uid, gid) -> new PeerIdentity(null, null, pid, uid, gid);
    }

    /** Names the service by the peer's uid; uids not in {@code serviceByUid} stay unattested. */
    static PeerAttestor byUid(Map<Integer, String> serviceByUid) {
        Map<Integer, String> copy = Map.copyOf(serviceByUid);
        return (pid, uid, gid) -> new PeerIdentity(copy.get(uid), null, pid, uid, gid);
    }
}
