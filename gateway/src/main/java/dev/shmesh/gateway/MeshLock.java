package dev.shmesh.gateway;

import dev.shmesh.broker.ShmSegment;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.OfdLock;
import dev.shmesh.linux.PrivateFiles;
import java.io.FileDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * A mesh is alive while its gateway holds an exclusive OFD lock ({@link OfdLock}) on its lock file
 * {@code <run dir>/shmesh-<mesh>.lock}: a second gateway of the same mesh is refused before it binds, spawns or
 * removes anything. The lock file lives in the gateway's private run dir ({@link RunDir}), never in a
 * world-writable directory where another user could create it first and hold a lock on it; it is opened with
 * {@code O_NOFOLLOW} and must be a 0600 file of the gateway's own user ({@link PrivateFiles}).
 *
 * <p>The lock is an open-file-description lock, never a JDK {@code FileLock}: those are process-wide POSIX
 * locks that the kernel drops when the process closes any descriptor of the file, which is how the mesh lock
 * used to vanish as soon as the gateway looked at its own lock file a second time. This class opens the file
 * exactly once and keeps that descriptor until {@link #release}.
 *
 * <p>Clean-up is limited to what this gateway owns: on release it removes the segments its broker handed it
 * (only when the name still refers to the very file it was handed), then its lock file. It never removes files
 * by pattern and never touches other meshes; the leftovers of a mesh whose gateway was killed are replaced by
 * that mesh's next broker (a new gateway generation starts with fresh segments).
 *
 * <p>Thread-safe: {@link #recordSegments} (on the control thread that received them) and {@link #release} synchronize.
 */
final class MeshLock {
    private static final Logger LOG = Logger.getLogger(MeshLock.class);
    /** Mesh names: they become parts of file names, so no separators, no '-' (it splits mesh from segment). */
    static final Pattern MESH_NAME = Pattern.compile("[A-Za-z0-9_.]{1,64}");
    /** Lock acquisitions that lost a race with a concurrent release (the name was unlinked under us) are retried. */
    private static final int ATTEMPTS = 5;

    private final String mesh;
    private final Path path;
    private int fd;
    /** Segment name to the {@code dev:ino} of the file the broker handed over. */
    private final Map<String, String> owned = new java.util.HashMap<>();

    private MeshLock(String mesh, Path path, int fd) {
        this.mesh = mesh;
        this.path = path;
        this.fd = fd;
    }

    /**
     * Takes mesh {@code mesh}'s lock in the run dir {@code dir}.
     *
     * @throws IllegalStateException with a user-facing message when another gateway holds it or the name is bad
     * @throws IOException when the lock file cannot be opened safely
     */
    static MeshLock acquire(Path dir, String mesh) throws IOException {
        if (!MESH_NAME.matcher(mesh).matches() || mesh.equals(".") || mesh.equals("..")) {
            throw new IllegalStateException("mesh name '" + mesh + "' must be 1-64 of [A-Za-z0-9_.] (no '-'): choose"
                    + " another --mesh");
        }
        Path path = dir.resolve("shmesh-" + mesh + ".lock").toAbsolutePath();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int fd = PrivateFiles.openOrCreate(path);
            boolean keep = false;
            try {
                if (!OfdLock.tryAcquire(fd, true)) {
                    throw new IllegalStateException("another gateway runs mesh '" + mesh + "' on this host (it holds "
                            + path + "); stop it, or give this one another --mesh");
                }
                // a releasing gateway unlinks the file while it still holds the lock: we may have locked a file
                // that no longer has this name, which would let a third gateway lock a fresh one beside us
                if (sameFile(path, fd)) {
                    keep = true;
                    return new MeshLock(mesh, path, fd);
                }
            } finally {
                if (!keep) {
                    FileDescriptors.closeQuietly(fd);
                }
            }
        }
        throw new IllegalStateException("could not take " + path + " in " + ATTEMPTS
                + " attempts: gateways of mesh '" + mesh + "' keep starting and stopping; retry");
    }

    private static boolean sameFile(Path path, int fd) throws IOException {
        try {
            return PrivateFiles.identity(path).equals(PrivateFiles.identity(fd));
        } catch (NoSuchFileException gone) {
            return false;
        }
    }

    Path path() {
        return path;
    }

    /**
     * Remembers which files the broker handed over (name to the gateway's fd), by device and inode: at release only
     * those are removed, even when the fds are long closed (a broker restart replaces them).
     */
    synchronized void recordSegments(Map<String, FileDescriptor> segments) {
        for (Map.Entry<String, FileDescriptor> s : segments.entrySet()) {
            try {
                int segmentFd = FileDescriptorCast.using(s.getValue()).as(Integer.class);
                owned.put(s.getKey(), PrivateFiles.identity(segmentFd));
            } catch (IOException | RuntimeException e) {
                LOG.warnf("cannot identify segment '%s' of mesh '%s' (it will not be removed at stop): %s", s.getKey(),
                        mesh, e.getMessage());
            }
        }
    }

    /**
     * Removes the segments this gateway's broker handed it that are still in /dev/shm under their names (and still
     * the same files), then the lock file, then lets go of the lock.
     */
    synchronized void release() {
        if (fd < 0) {
            return;
        }
        int removed = 0;
        for (Map.Entry<String, String> s : owned.entrySet()) {
            Path segment = ShmSegment.pathOf(mesh, s.getKey());
            try {
                if (PrivateFiles.identity(segment).equals(s.getValue())) {
                    Files.delete(segment);
                    removed++;
                }
            } catch (NoSuchFileException alreadyGone) {
                // the broker removed it on its clean stop
            } catch (IOException | RuntimeException e) {
                LOG.warnf("could not remove %s: %s", segment, e.getMessage());
            }
        }
        if (removed > 0) {
            LOG.infof("removed %d shared-memory segments the broker left", removed);
        }
        try {
            if (sameFile(path, fd)) {
                Files.delete(path); // while still locked: whoever opened the old inode re-checks the name
            }
        } catch (IOException e) {
            LOG.warnf("could not remove %s: %s", path, e.getMessage());
        }
        FileDescriptors.closeQuietly(fd); // the last descriptor of the description: the lock goes with it
        fd = -1;
    }
}
