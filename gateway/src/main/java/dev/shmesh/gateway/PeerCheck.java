package dev.shmesh.gateway;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process-tree facts used to authenticate control-socket peers by their SO_PEERCRED pid. */
final class PeerCheck {
    private static final int MAX_DEPTH = 64;

    private PeerCheck() {}

    /**
     * True when {@code pid} is {@code ancestor} or one of its descendants. A launcher (unshare, bwrap)
     * may sit between the process the gateway spawned and the JVM that connects.
     */
    static boolean isSelfOrDescendant(long pid, long ancestor) {
        long current = pid;
        for (int depth = 0; depth < MAX_DEPTH && current > 1; depth++) {
            if (current == ancestor) {
                return true;
            }
            current = parentOf(current);
        }
        return false;
    }

    /** The parent pid from /proc/PID/stat, or -1 when the process is gone. */
    static long parentOf(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) state ppid ...": comm may contain spaces and parentheses
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(rest[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** This process's real uid. */
    static long ownUid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read own uid from /proc/self", e);
        }
    }
}
