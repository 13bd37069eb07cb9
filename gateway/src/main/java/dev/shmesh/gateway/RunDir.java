package dev.shmesh.gateway;

import dev.shmesh.linux.PrivateFiles;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The gateway's run directory: {@code control.sock} and the mesh lock live here, never in a world-writable
 * place such as /dev/shm or /tmp. It must be a real directory (not a symlink) owned by the gateway's user with
 * mode 0700, so that nobody else can create, replace or hold anything in it.
 */
final class RunDir {
    private RunDir() {}

    /**
     * Creates {@code dir} (mode 0700) when missing, tightens an existing one this user owns to 0700, and checks
     * the result.
     *
     * @return the absolute path
     * @throws IllegalStateException with a user-facing message when the directory cannot be made private
     */
    static Path prepare(String dir) {
        return prepare(dir, PrivateFiles.effectiveUid());
    }

    /**
     * {@link #prepare(String)} for a root gateway about to drop to {@code owner}: the directory may belong to root or
     * already to {@code owner} (a live or earlier gateway of this user); the caller then hands it over.
     */
    static Path prepareForDrop(String dir, int owner) {
        return prepare(dir, owner);
    }

    private static Path prepare(String dir, int alsoAllowedOwner) {
        Path path = Path.of(dir).toAbsolutePath().normalize();
        try {
            if (Files.notExists(path, LinkOption.NOFOLLOW_LINKS)) {
                if (path.getParent() != null) {
                    Files.createDirectories(path.getParent());
                }
                try {
                    Files.createDirectory(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException raced) {
                    // checked below like any existing directory
                }
            }
            int owner = Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)
                    ? (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS) : -1;
            if (owner == PrivateFiles.effectiveUid() || owner == alsoAllowedOwner) {
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
            }
            if (owner != alsoAllowedOwner) {
                PrivateFiles.checkPrivateDirectory(path);
            }
            return path;
        } catch (IOException e) {
            throw new IllegalStateException("run dir " + path + " cannot be used: " + e.getMessage()
                    + " (the gateway keeps its control socket and mesh lock there; --run-dir chooses another)", e);
        }
    }
}
