package dev.shmesh.gateway;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jboss.logging.Logger;

/**
 * A mesh is alive while its gateway holds an exclusive lock on {@code /dev/shm/shmesh-<mesh>.lock}. At
 * start the gateway takes its own mesh's lock (a second gateway of the same mesh is refused) and removes
 * the segments of every mesh whose lock nobody holds: the leftovers of meshes that died without a clean
 * stop. Creator pids cannot tell that: brokers run in their own pid namespaces. On release the mesh's
 * remaining segments go too, so a stopped mesh leaves nothing in /dev/shm.
 */
final class MeshLock {
    private static final Logger LOG = Logger.getLogger(MeshLock.class);
    private static final Path SHM = Path.of("/dev/shm");

    private final String mesh;
    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;

    private MeshLock(String mesh, Path path, FileChannel channel, FileLock lock) {
        this.mesh = mesh;
        this.path = path;
        this.channel = channel;
        this.lock = lock;
    }

    static MeshLock acquire(String mesh) throws IOException {
        if (!mesh.matches("[A-Za-z0-9_.]{1,64}")) {
            throw new IllegalStateException("mesh name '" + mesh + "' must be 1-64 of [A-Za-z0-9_.] (no '-')");
        }
        Path path = SHM.resolve("shmesh-" + mesh + ".lock");
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock();
        if (lock == null) {
            channel.close();
            throw new IllegalStateException("another gateway runs mesh '" + mesh + "' on this host (it holds " + path
                    + "); stop it or give this one another --mesh");
        }
        sweepDeadMeshes();
        return new MeshLock(mesh, path, channel, lock);
    }

    /** Removes the segments of meshes whose lock file is not held. */
    private static void sweepDeadMeshes() {
        try (DirectoryStream<Path> locks = Files.newDirectoryStream(SHM, "shmesh-*.lock")) {
            for (Path lockFile : locks) {
                String name = lockFile.getFileName().toString();
                String other = name.substring("shmesh-".length(), name.length() - ".lock".length());
                try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
                    FileLock probe;
                    try {
                        probe = ch.tryLock();
                    } catch (java.nio.channels.OverlappingFileLockException mine) {
                        continue; // held by this JVM: our own mesh
                    }
                    if (probe == null) {
                        continue; // alive
                    }
                    int removed = removeSegments(other);
                    probe.release();
                    Files.deleteIfExists(lockFile);
                    if (removed > 0) {
                        LOG.infof("removed %d shared-memory segments of dead mesh '%s'", removed, other);
                    }
                }
            }
        } catch (IOException e) {
            LOG.warnf("could not sweep /dev/shm for dead meshes: %s", e.getMessage());
        }
    }

    private static int removeSegments(String mesh) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> segments = Files.newDirectoryStream(SHM, "shmesh-" + mesh + "-*")) {
            for (Path p : segments) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    /** Removes the mesh's segments that are still there, then the lock. */
    void release() {
        try {
            int n = removeSegments(mesh);
            if (n > 0) {
                LOG.infof("removed %d shared-memory segments the broker left", n);
            }
            lock.release();
            channel.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warnf("could not clean up mesh '%s' in /dev/shm: %s", mesh, e.getMessage());
        }
    }
}
