package dev.shmesh.grpc.shm;

import io.grpc.Server;
import java.nio.file.Path;
import java.util.Map;

/**
 * A child process for the cross-process tests: serves {@link TestService} as replica {@code args[1]} on the socket
 * {@code args[0]}, names callers of this uid {@code "frontend"}, prints {@code READY} and serves until killed.
 */
public final class TestServerMain {
    private TestServerMain() {}

    public static void main(String[] args) throws Exception {
        int uid = (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Server server = ShmServerBuilder.forPath(Path.of(args[0]))
                .attestor(PeerAttestor.byUid(Map.of(uid, "frontend")))
                .addService(new TestService(args[1]).definition())
                .build().start();
        System.out.println("READY");
        System.out.flush();
        server.awaitTermination();
    }
}
