package dev.shmesh.gateway;

import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.LinuxException;
import dev.shmesh.linux.ListenSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The mesh's listening sockets. Bound once at gateway start; the gateway keeps its copy of every fd
 * for its whole life and never closes or shuts one down while the mesh runs, so the accept queue
 * survives any worker's death or reload.
 */
final class Listeners {
    /** One bound listener: its name in Assign, the gateway's fd, the bound address. */
    record Listener(String name, int fd, InetSocketAddress address, int backlog) {
        String addressText() {
            String host = address.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
        }
    }

    private final List<Listener> listeners;

    private Listeners(List<Listener> listeners) {
        this.listeners = listeners;
    }

    /** Binds the configured listener, or fails with a message that says what to change. */
    static Listeners bind(GatewayConfig.Listen config) {
        InetAddress host;
        try {
            host = InetAddress.getByName(config.host());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("cannot resolve listen host '" + config.host()
                    + "': set --host (shmesh.listen.host) to an address of this machine");
        }
        try {
            int fd = ListenSocket.bind(new InetSocketAddress(host, config.port()), config.backlog());
            InetSocketAddress bound = ListenSocket.localAddress(fd);
            return new Listeners(List.of(new Listener("http", fd, bound, config.backlog())));
        } catch (LinuxException e) {
            String hint = switch (e.errno()) {
                case dev.shmesh.linux.Errno.EADDRINUSE ->
                        "another process listens there; stop it or choose another port with --port";
                case dev.shmesh.linux.Errno.EACCES ->
                        "ports below 1024 need privilege; use a port >= 1024 or systemd socket activation";
                case dev.shmesh.linux.Errno.EADDRNOTAVAIL -> "that address is not on this machine; check --host";
                default -> "check --host/--port";
            };
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": "
                    + e.getMessage() + " — " + hint, e);
        }
    }

    List<Listener> all() {
        return listeners;
    }

    /** Closes the gateway's copies; only at gateway exit. */
    void close() {
        for (Listener l : listeners) {
            FileDescriptors.closeQuietly(l.fd());
        }
    }
}
