package dev.shmesh.grpc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.FileDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * Connections made by a third party, as the gateway makes them: this test makes both ends, sends the server's end
 * to a child process with SCM_RIGHTS and the identity it attests, and calls through its own end. Neither process
 * connects anywhere; the server knows the caller only from what the test (the gateway) said.
 */
@Timeout(120)
class HandedConnectionsTest {
    @TempDir
    Path dir;
    private final Children children = new Children();
    private ManagedChannel channel;

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        children.close();
    }

    /** Starts a child serving replica {@code replica}, hands it a connection whose caller is {@code caller}. */
    private ShmConnectionEnd startReplica(AFUNIXServerSocket gateway, String replica, PeerIdentity caller)
            throws Exception {
        ShmConnectionEnd.Pair pair = ShmConnectionEnd.pair(1 << 20, caller,
                new PeerIdentity("svc", replica, 0, 0, 0));
        CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
            try (AFUNIXSocket s = gateway.accept(); ShmConnectionEnd end = pair.server()) {
                int[] fds = end.fds();
                FileDescriptor[] out = new FileDescriptor[fds.length];
                for (int i = 0; i < fds.length; i++) {
                    out[i] = FileDescriptorCast.unsafeUsing(fds[i]).getFileDescriptor();
                }
                s.setOutboundFileDescriptors(out);
                s.getOutputStream().write((caller.service() + "," + caller.worker() + "," + caller.pid() + ","
                        + caller.uid() + "," + caller.gid()).getBytes(StandardCharsets.UTF_8));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        children.start(HandedServerMain.class, "READY", dir.resolve("gateway.sock").toString(), replica);
        sent.get(30, TimeUnit.SECONDS);
        return pair.client();
    }

    private String echo(String what) {
        return new String(ClientCalls.blockingUnaryCall(channel, TestService.ECHO,
                CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS).withWaitForReady(),
                what.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    @Test
    void aHandedConnectionServesWithTheIdentityItsMakerAttested() throws Exception {
        HandedConnections handed = new HandedConnections();
        channel = ShmChannelBuilder.forTarget("shm:///svc").handedConnections(handed).build();
        try (AFUNIXServerSocket gateway = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(dir.resolve("gateway.sock")))) {
            PeerIdentity edge = new PeerIdentity("frontend", "edge-1", ProcessHandle.current().pid(), 1000, 1000);
            handed.offer("svc", "r1", startReplica(gateway, "r1", edge));
            assertEquals("r1:hello", echo("hello"));

            // a caller the maker attests as another service is refused by the server's interceptor
            HandedConnections other = new HandedConnections();
            ManagedChannel intruder = ShmChannelBuilder.forTarget("shm:///svc").handedConnections(other).build();
            try {
                other.offer("svc", "r2", startReplica(gateway, "r2",
                        new PeerIdentity("intruder", "x", 1, 1, 1)));
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
                        ClientCalls.blockingUnaryCall(intruder, TestService.ECHO,
                                CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[0]));
                assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().contains("intruder/x"), e.getStatus().toString());
            } finally {
                intruder.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aReplicaThatDiesIsReplacedByTheNextConnectionHandedForIt() throws Exception {
        HandedConnections handed = new HandedConnections();
        channel = ShmChannelBuilder.forTarget("shm:///svc").handedConnections(handed).build();
        PeerIdentity edge = new PeerIdentity("frontend", "edge-1", ProcessHandle.current().pid(), 1000, 1000);
        try (AFUNIXServerSocket gateway = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(dir.resolve("gateway.sock")))) {
            handed.offer("svc", "r1", startReplica(gateway, "r1", edge));
            assertEquals("r1:one", echo("one"));
            children.close(); // SIGKILL the replica
            handed.offer("svc", "r1", startReplica(gateway, "r1", edge));
            assertEquals("r1:two", echo("two"), "the channel reconnects through the new handed connection");
        }
    }
}
