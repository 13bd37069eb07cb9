package dev.shmesh.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ListenSocketTest {

    @Test
    void bindsListensAndAcceptsConnectionsIntoTheBacklog() throws Exception {
        int fd = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        try {
            InetSocketAddress local = ListenSocket.localAddress(fd);
            assertTrue(local.getPort() > 0, "kernel picked a port");
            assertTrue(ListenSocket.isListening(fd));
            assertTrue(ListenSocket.isInetSocket(fd));
            assertTrue(FileDescriptors.isNonBlocking(fd), "shared listeners are non-blocking for event loops");
            // nobody accepts, yet the connection completes: it waits in the kernel's accept queue
            try (Socket s = new Socket(local.getAddress(), local.getPort())) {
                assertTrue(s.isConnected());
            }
        } finally {
            FileDescriptors.close(fd);
        }
    }

    @Test
    void secondBindOnTheSamePortNamesTheSyscallAndErrno() throws Exception {
        int fd = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        try {
            int port = ListenSocket.localAddress(fd).getPort();
            LinuxException e = assertThrows(
                    LinuxException.class,
                    () -> ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 4));
            assertEquals("bind", e.syscall());
            assertEquals(Errno.EADDRINUSE, e.errno());
            assertTrue(e.getMessage().contains("EADDRINUSE"), e.getMessage());
            assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        } finally {
            FileDescriptors.close(fd);
        }
    }

    @Test
    void aDupOutlivesTheOriginal() throws Exception {
        int fd = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        int copy = FileDescriptors.dupCloexec(fd);
        int port = ListenSocket.localAddress(fd).getPort();
        FileDescriptors.close(fd);
        try {
            assertTrue(ListenSocket.isListening(copy), "the socket stays listening while a copy is open");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                    InputStream in = s.getInputStream()) {
                assertTrue(s.isConnected());
                assertFalse(s.isClosed());
                assertEquals(0, in.available());
            }
        } finally {
            FileDescriptors.close(copy);
        }
        LinuxException e = assertThrows(LinuxException.class, () -> FileDescriptors.close(copy));
        assertEquals(Errno.EBADF, e.errno());
    }
}
