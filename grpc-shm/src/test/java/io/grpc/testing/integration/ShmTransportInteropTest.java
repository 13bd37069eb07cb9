package io.grpc.testing.integration;

import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import dev.shmesh.grpc.shm.ShmServerBuilder;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.AfterClass;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The standard gRPC interop cases (grpc-java's {@link AbstractInteropTest}) over the shared-memory transport; {@link
 * NettyInteropTest} runs the same cases over Netty on loopback TCP. The suite's own census metrics are not recorded
 * by this transport (as by grpc-java's in-process one), so its metric assertions are off here.
 */
@RunWith(JUnit4.class)
public class ShmTransportInteropTest extends AbstractInteropTest {
    private static final Path DIR = tempDir();
    private static int sequence;
    private Path socket;

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("shm-interop");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected ServerBuilder<?> getServerBuilder() {
        socket = DIR.resolve("server-" + (++sequence) + ".sock");
        return ShmServerBuilder.forPath(socket).maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    }

    @Override
    protected ManagedChannelBuilder<?> createChannelBuilder() {
        return ShmChannelBuilder.forAddress(new ShmAddress(socket))
                .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    }

    @Override
    protected boolean metricsExpected() {
        return false;
    }

    @AfterClass
    public static void removeDir() throws IOException {
        try (var files = Files.list(DIR)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(DIR);
    }
}
