package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class ShmSegmentTest {
    private static final int KIND = SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING;
    private final ShmFiles files = new ShmFiles();

    @AfterEach
    void deleteFiles() throws Exception {
        files.deleteAll();
    }

    @Test
    void createdExclusivelyWithMode0600AndTheHeaderFilledIn() throws Exception {
        Path path = files.path("seg");
        try (ShmSegment s = ShmSegment.create(files.mesh, "seg", KIND, 4096)) {
            assertEquals(path, s.path());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
            assertEquals(4096, Files.size(path));
            assertEquals(ProcessHandle.current().pid(), s.creatorPid());
            assertTrue(s.isCreatorAlive());
            assertEquals(0, s.memory().get(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET),
                    "version is written only by publish()");
            s.publish();
            assertEquals(SegmentHeaderDescriptor.VERSION,
                    s.memory().get(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET));
            assertThrows(FileAlreadyExistsException.class, () -> ShmSegment.create(files.mesh, "seg", KIND, 4096));
        }
    }

    @Test
    void reopenedByNameSeesTheSameBytes() throws Exception {
        files.path("seg");
        try (ShmSegment a = ShmSegment.create(files.mesh, "seg", KIND, 4096)) {
            a.publish();
            try (ShmSegment b = ShmSegment.open(files.mesh, "seg", KIND)) {
                a.memory().set(ValueLayout.JAVA_LONG, 1024, 42L);
                assertEquals(42L, b.memory().get(ValueLayout.JAVA_LONG, 1024));
                assertEquals(a.creatorStartTimeMillis(), b.creatorStartTimeMillis());
            }
        }
    }

    @Test
    void openedFromAnInheritedFileDescriptor() throws Exception {
        Path path = files.path("seg");
        MethodHandle open = Libc.downcall(
                "open", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_INT, Libc.C_INT));
        try (ShmSegment a = ShmSegment.create(files.mesh, "seg", KIND, 8192); Arena arena = Arena.ofConfined()) {
            a.publish();
            MemorySegment cpath = arena.allocateFrom(path.toString());
            int fd = (int) Libc.call("open", path.toString(), st -> (int) open.invokeExact(st, cpath, 2 /* O_RDWR */, 0));
            try (ShmSegment b = ShmSegment.openFd(fd, KIND)) {
                FileDescriptors.close(fd); // the mapping does not need the fd
                b.memory().set(ValueLayout.JAVA_INT, 4096, 7);
                assertEquals(7, a.memory().get(ValueLayout.JAVA_INT, 4096));
                assertEquals(8192, b.length());
            }
        }
    }

    @Test
    void refusesAnotherMajorVersion() throws Exception {
        Path path = files.path("seg");
        int major = SegmentHeaderDescriptor.MAJOR_VERSION;
        try (ShmSegment a = ShmSegment.create(path, KIND, 4096)) {
            a.memory().set(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET, ((major + 1) << 16) | 3);
            ShmFormatException e = assertThrows(ShmFormatException.class, () -> ShmSegment.open(path, KIND, false));
            assertTrue(e.getMessage().contains("major version " + (major + 1) + ".3"), e.getMessage());
            a.memory().set(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET, (major << 16) | 9);
            ShmSegment.open(path, KIND, false).close(); // another minor is fine
        }
    }

    @Test
    void refusesAnotherKindBadMagicAndWrongLength() throws Exception {
        Path path = files.path("seg");
        try (ShmSegment a = ShmSegment.create(path, KIND, 4096)) {
            a.publish();
            ShmFormatException kind = assertThrows(ShmFormatException.class,
                    () -> ShmSegment.open(path, SegmentHeaderDescriptor.KIND_COUNTERS, false));
            assertTrue(kind.getMessage().contains("expected a counters"), kind.getMessage());
            a.memory().set(ValueLayout.JAVA_LONG, SegmentHeaderDescriptor.TOTAL_LENGTH_OFFSET, 8192L);
            ShmFormatException length = assertThrows(ShmFormatException.class, () -> ShmSegment.open(path, KIND, false));
            assertTrue(length.getMessage().contains("header says 8192 bytes, file has 4096"), length.getMessage());
            a.memory().set(ValueLayout.JAVA_LONG, SegmentHeaderDescriptor.MAGIC_OFFSET, 0x1234L);
            ShmFormatException magic = assertThrows(ShmFormatException.class, () -> ShmSegment.open(path, KIND, false));
            assertTrue(magic.getMessage().contains("bad magic"), magic.getMessage());
        }
    }

    @Test
    void refusesASegmentThatIsNeverPublished() throws Exception {
        Path path = files.path("seg");
        try (ShmSegment a = ShmSegment.create(path, KIND, 4096)) {
            ShmFormatException e = assertThrows(ShmFormatException.class, () -> ShmSegment.open(path, KIND, false));
            assertTrue(e.getMessage().contains("not published"), e.getMessage());
            assertEquals(0, a.memory().get(ValueLayout.JAVA_INT, SegmentHeaderDescriptor.VERSION_OFFSET));
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
        }
    }

    @Test
    void rejectsNamesThatCouldEscapeDevShm() {
        assertThrows(IllegalArgumentException.class, () -> ShmSegment.pathOf("m", "../etc"));
        assertThrows(IllegalArgumentException.class, () -> ShmSegment.pathOf("m/x", "q"));
        assertThrows(IllegalArgumentException.class, () -> ShmSegment.pathOf("", "q"));
        assertEquals(Path.of("/dev/shm/shmesh-demo-orders"), ShmSegment.pathOf("demo", "orders"));
    }
}
