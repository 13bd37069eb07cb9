package dev.shmesh.grpc.shm.internal;

import dev.shmesh.linux.EventFd;
import dev.shmesh.linux.LinuxException;
import dev.shmesh.linux.Poll;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One thread per process that sees peers die: it waits in {@code poll(2)} on the rendezvous socket of every
 * connection, and when one hangs up (the kernel closes a dead process's descriptors, so a SIGKILL counts) it runs
 * that connection's callback at once. No byte is sent on those sockets after the handshake, so readable means gone.
 */
final class PeerWatcher {
    private static final Logger LOG = Logger.getLogger(PeerWatcher.class.getName());
    private static final PeerWatcher INSTANCE = new PeerWatcher();

    private final Map<Integer, Runnable> watched = new ConcurrentHashMap<>();
    private final Object startLock = new Object();
    private int wakeFd = -1;

    private PeerWatcher() {}

    static PeerWatcher get() {
        return INSTANCE;
    }

    /** Runs {@code onHangUp} once when {@code socketFd} hangs up or turns readable; until {@link #unwatch}. */
    void watch(int socketFd, Runnable onHangUp) throws LinuxException {
        ensureStarted();
        watched.put(socketFd, onHangUp);
        EventFd.signal(wakeFd, 1);
    }

    /** Stops watching {@code socketFd}; call before closing it, so the number is not watched after reuse. */
    void unwatch(int socketFd) {
        if (watched.remove(socketFd) != null) {
            try {
                EventFd.signal(wakeFd, 1);
            } catch (LinuxException e) {
                LOG.log(Level.FINE, "waking the peer watcher", e);
            }
        }
    }

    private void ensureStarted() throws LinuxException {
        synchronized (startLock) {
            if (wakeFd >= 0) {
                return;
            }
            wakeFd = EventFd.open(0, EventFd.EFD_NONBLOCK | EventFd.EFD_CLOEXEC);
            Thread t = new Thread(this::run, "shm-grpc-peer-watcher");
            t.setDaemon(true);
            t.start();
        }
    }

    private void run() {
        while (true) {
            // a snapshot of (fd, callback) pairs: a number closed and reused meanwhile must not fire the new owner's
            List<Map.Entry<Integer, Runnable>> entries = new ArrayList<>(watched.entrySet());
            int[] set = new int[entries.size() + 1];
            set[0] = wakeFd;
            for (int i = 0; i < entries.size(); i++) {
                set[i + 1] = entries.get(i).getKey();
            }
            short[] revents;
            try {
                revents = Poll.poll(set, (short) (Poll.POLLIN | Poll.POLLRDHUP), -1);
            } catch (LinuxException e) {
                LOG.log(Level.SEVERE, "poll on peer sockets failed; peer death is seen by the connections' timeouts only", e);
                return;
            }
            if (revents[0] != 0) {
                try {
                    EventFd.await(wakeFd);
                } catch (LinuxException e) {
                    // EAGAIN: another round consumed it
                }
            }
            for (int i = 1; i < set.length; i++) {
                if (revents[i] != 0) {
                    Runnable r = entries.get(i - 1).getValue();
                    if (watched.remove(set[i], r)) {
                        try {
                            r.run();
                        } catch (RuntimeException e) {
                            LOG.log(Level.WARNING, "peer hang-up callback failed", e);
                        }
                    }
                }
            }
        }
    }
}
