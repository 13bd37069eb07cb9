package dev.shmesh.grpc.shm;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.nio.file.Path;
import java.util.Iterator;

/** A child process for the cross-process tests: opens a {@code Hold} call on {@code args[0]}, prints HOLDING, waits. */
public final class TestClientMain {
    private TestClientMain() {}

    public static void main(String[] args) throws Exception {
        ManagedChannel ch = ShmChannelBuilder.forAddress(new ShmAddress(Path.of(args[0]))).build();
        Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(ch, TestService.HOLD,
                io.grpc.CallOptions.DEFAULT, new byte[0]);
        it.next();
        System.out.println("HOLDING");
        System.out.flush();
        new java.util.concurrent.CountDownLatch(1).await(); // held open until the test SIGKILLs this process
    }
}
