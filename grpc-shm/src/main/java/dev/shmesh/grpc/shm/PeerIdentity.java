package dev.shmesh.grpc.shm;

/**
 * Who is on the other end of a shared-memory connection, as the mesh attested it: the process id and user id come
 * from the kernel ({@code SO_PEERCRED} of the rendezvous socket), the service and worker names from the {@link
 * PeerAttestor} of the server (in the mesh: the gateway's record of which uid runs which service) — never from
 * anything the peer says. The shared-memory equivalent of an mTLS peer certificate; read it in a {@link
 * io.grpc.ServerInterceptor} from {@link ShmGrpc#PEER_IDENTITY}.
 *
 * @param service the service the peer runs, or {@code null} when the attestor does not know the peer
 * @param worker the peer's worker (replica) name, or {@code null}
 * @param pid the peer's process id in this process's pid namespace (0 if it is in another, unrelated one)
 * @param uid the peer's user id
 * @param gid the peer's group id
 */
public record PeerIdentity(String service, String worker, long pid, int uid, int gid) {
    @Override
    public String toString() {
        return (service == null ? "unattested" : service) + (worker == null ? "" : "/" + worker) + " (pid " + pid
                + ", uid " + uid + ")";
    }
}
