package dev.shmesh.systemtests;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.HexFormat;

/**
 * A control-socket peer that the gateway did not spawn, run as a separate process (JDK only, so that it can run as
 * the gateway's unprivileged user from the test-classes directory): connects to {@code args[0]}, sends the bytes
 * hex-encoded in {@code args[1]}, reads until the gateway closes, and prints how many bytes it got back. An Assign
 * (the only frame that carries fds) would be more than zero bytes.
 */
public final class ImpostorClient {
    private ImpostorClient() {}

    public static void main(String[] args) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(args[0]))) {
            ch.write(ByteBuffer.wrap(HexFormat.of().parseHex(args[1])));
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            long total = 0;
            int n;
            while ((n = ch.read(buf)) >= 0) {
                total += n;
                buf.clear();
            }
            System.out.println("closed after " + total + " bytes");
        }
    }
}
