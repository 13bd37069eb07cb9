package dev.shmesh.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** OFD locks and private files against the real kernel: what the mesh lock relies on. */
@Timeout(30)
class OfdLockTest {

    @Test
    void closingAnotherDescriptorOfTheFileKeepsTheLock(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("m.lock");
        int fd = PrivateFiles.openOrCreate(file);
        try {
            assertTrue(OfdLock.tryAcquire(fd, true));
            // the very thing that dropped the JDK's process-wide POSIX lock: open and close the file once more
            FileChannel.open(file, StandardOpenOption.WRITE).close();
            int second = PrivateFiles.openOrCreate(file);
            try {
                assertTrue(OfdLock.heldElsewhere(second), "the lock is still held");
                assertFalse(OfdLock.tryAcquire(second, true), "a second description of the same process conflicts");
                assertFalse(OfdLock.tryAcquire(second, false), "a shared lock conflicts with the exclusive one too");
            } finally {
                FileDescriptors.close(second);
            }
            assertTrue(OfdLock.tryAcquire(fd, true), "re-taking it through the holding description succeeds");
        } finally {
            FileDescriptors.close(fd);
        }
        int after = PrivateFiles.openOrCreate(file);
        try {
            assertTrue(OfdLock.tryAcquire(after, true), "closing the holder's descriptor released the lock");
        } finally {
            FileDescriptors.close(after);
        }
    }

    @Test
    void aPrivateFileIsCreated0600AndASymlinkIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("f");
        FileDescriptors.close(PrivateFiles.openOrCreate(file));
        assertEquals(0600, (Integer) Files.getAttribute(file, "unix:mode") & 0777);
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, file);
        LinuxException e = assertThrows(LinuxException.class, () -> PrivateFiles.openOrCreate(link));
        assertEquals(Errno.ELOOP, e.errno(), e.getMessage());
    }

    @Test
    void aFileOthersCanReadIsRefused(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("f"));
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> PrivateFiles.openOrCreate(file));
        assertTrue(e.getMessage().contains("mode 644"), e.getMessage());
    }
}
