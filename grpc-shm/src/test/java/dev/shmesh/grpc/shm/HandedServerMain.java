package dev.shmesh.grpc.shm;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import java.io.FileDescriptor;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * A child process standing for a service in the mesh: it connects to the test (standing for the gateway) at
 * {@code args[0]}, receives one connection end (3 descriptors and the attested peer as "service,worker,pid,uid,gid"),
 * and serves {@link TestService} as replica {@code args[1]} on it, admitting only callers attested as "frontend".
 */
public final class HandedServerMain {
    private HandedServerMain() {}

    public static void main(String[] args) throws Exception {
        HandedConnections handed = new HandedConnections();
        Server server = ShmServerBuilder.forHandedConnections(handed)
                .addService(ServerInterceptors.intercept(new TestService(args[1]).definition(),
                        CallerAuthorization.allow("frontend")))
                .build().start();
        try (AFUNIXSocket gateway = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(Path.of(args[0])))) {
            gateway.setAncillaryReceiveBufferSize(256);
            InputStream in = gateway.getInputStream();
            byte[] buf = new byte[512];
            int n = in.read(buf);
            FileDescriptor[] fds = gateway.getReceivedFileDescriptors();
            String[] peer = new String(buf, 0, n, StandardCharsets.UTF_8).split(",");
            PeerIdentity identity = new PeerIdentity(peer[0], peer[1], Long.parseLong(peer[2]),
                    Integer.parseInt(peer[3]), Integer.parseInt(peer[4]));
            handed.serve(ShmConnectionEnd.adopt(fd(fds[0]), fd(fds[1]), fd(fds[2]), identity));
            System.out.println("READY");
            System.out.flush();
            server.awaitTermination();
        }
    }

    private static int fd(FileDescriptor fd) throws java.io.IOException {
        return FileDescriptorCast.using(fd).as(Integer.class);
    }
}
