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

    /** The first fd systemd passes (SD_LISTEN_FDS_START). */
    private static final int LISTEN_FDS_START = 3;

    /**
     * The listeners for this gateway: inherited from systemd socket activation when LISTEN_PID names
     * this process (then nothing is bound and no privilege is needed for ports below 1024), else
     * bound from the configuration.
     */
    static Listeners open(GatewayConfig.Listen config) {
        Listeners own = fromRootIncarnation(System.getenv());
        if (own != null) {
            return own;
        }
        Listeners inherited = inherited(System.getenv());
        return inherited != null ? inherited : bind(config);
    }

    /** Listeners the root incarnation of this gateway bound and passed on over its execve ({@link PrivilegeDrop}). */
    static final String INHERITED_ENV = "SHMESH_LISTEN_FDS";
    /** The pid {@link #INHERITED_ENV} is meant for: the same process after execve; any child ignores it. */
    static final String INHERITED_PID_ENV = "SHMESH_LISTEN_PID";

    /** {@code name:fd:backlog,...} for {@link #INHERITED_ENV}. */
    String describeForInheritance() {
        return String.join(",", listeners.stream().map(l -> l.name() + ":" + l.fd() + ":" + l.backlog()).toList());
    }

    static Listeners fromRootIncarnation(java.util.Map<String, String> env) {
        String value = env.get(INHERITED_ENV);
        if (value == null || !Long.toString(ProcessHandle.current().pid()).equals(env.get(INHERITED_PID_ENV))) {
            return null;
        }
        java.util.List<Listener> out = new java.util.ArrayList<>();
        for (String entry : value.split(",")) {
            String[] f = entry.split(":");
            if (f.length != 3) {
                throw new IllegalStateException(INHERITED_ENV + "=" + value + " is not name:fd:backlog");
            }
            int fd = Integer.parseInt(f[1]);
            try {
                if (!ListenSocket.isInetSocket(fd) || !ListenSocket.isListening(fd)) {
                    throw new IllegalStateException("inherited fd " + fd + " is not a listening TCP socket");
                }
                out.add(new Listener(f[0], fd, ListenSocket.localAddress(fd), Integer.parseInt(f[2])));
            } catch (LinuxException e) {
                throw new IllegalStateException("inherited listener fd " + fd + " is unusable: " + e.getMessage(), e);
            }
        }
        return new Listeners(java.util.List.copyOf(out));
    }

    /**
     * Socket activation (sd_listen_fds(3)): LISTEN_PID must be this process, LISTEN_FDS the count of
     * fds from 3 on, LISTEN_FDNAMES their colon-separated names; the one named "http", else the first,
     * becomes the mesh listener. Each must be a listening TCP socket.
     */
    static Listeners inherited(java.util.Map<String, String> env) {
        String pid = env.get("LISTEN_PID");
        String count = env.get("LISTEN_FDS");
        if (pid == null || count == null) {
            return null;
        }
        if (!pid.equals(Long.toString(ProcessHandle.current().pid()))) {
            return null; // meant for another process (e.g. our parent); bind as configured
        }
        int n;
        try {
            n = Integer.parseInt(count);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("LISTEN_FDS=" + count + " is not a number: check the .socket unit");
        }
        if (n < 1) {
            throw new IllegalStateException("LISTEN_FDS=" + n + ": socket activation passed no socket");
        }
        String[] names = env.getOrDefault("LISTEN_FDNAMES", "").split(":");
        int chosen = 0;
        for (int i = 0; i < n && i < names.length; i++) {
            if (names[i].equals("http")) {
                chosen = i;
            }
        }
        int fd = LISTEN_FDS_START + chosen;
        try {
            if (!ListenSocket.isInetSocket(fd) || !ListenSocket.isListening(fd)) {
                throw new IllegalStateException("socket-activated fd " + fd + " is not a listening TCP socket:"
                        + " use ListenStream= with a port in the .socket unit");
            }
            dev.shmesh.linux.FileDescriptors.setNonBlocking(fd);
            InetSocketAddress bound = ListenSocket.localAddress(fd);
            return new Listeners(List.of(new Listener("http", fd, bound, -1)));
        } catch (LinuxException e) {
            throw new IllegalStateException("socket-activated fd " + fd + " is unusable: " + e.getMessage(), e);
        }
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
