package dev.shmesh.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.linux.EventFd;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.MemFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Rings in anonymous sealed memfds: what two peers of a private connection share, and what a receiver refuses. */
@Timeout(30)
class AnonymousSegmentTest {

    @Test
    void aRingInAMemfdIsSealedNamelessAndUsableThroughItsFd() throws Exception {
        ManyToOneRing ring = ManyToOneRing.createAnonymous("test-ring", 4096);
        int fd = ring.segment().anonymousFd();
        try {
            int seals = MemFd.seals(fd);
            assertTrue((seals & MemFd.F_SEAL_SHRINK) != 0 && (seals & MemFd.F_SEAL_GROW) != 0
                    && (seals & MemFd.F_SEAL_SEAL) != 0, "seals=0x" + Integer.toHexString(seals));
            assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("/memfd:shmesh-test-ring"));
            ManyToOneRing peer = ShmSegment.openSealedFd(fd, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING)
                    .attachOrClose(ManyToOneRing::attach);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment msg = arena.allocateFrom("hello");
                assertTrue(peer.offer(7, msg, 0, (int) msg.byteSize()) >= 0);
            }
            int[] seen = new int[2];
            assertEquals(1, ring.poll((type, buffer, offset, length) -> {
                seen[0] = type;
                seen[1] = length;
            }, 10));
            assertEquals(7, seen[0]);
            assertEquals(6, seen[1]);
        } finally {
            FileDescriptors.closeQuietly(fd);
        }
    }

    @Test
    void anUnsealedMemfdIsRefusedBecauseItsSenderCouldTruncateItUnderTheMapping() throws Exception {
        int fd = MemFd.create("unsealed", 1 << 16, MemFd.MFD_CLOEXEC | MemFd.MFD_ALLOW_SEALING);
        try {
            ShmFormatException e = assertThrows(ShmFormatException.class,
                    () -> ShmSegment.openSealedFd(fd, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING));
            assertTrue(e.getMessage().contains("not sealed against shrinking"), e.getMessage());
        } finally {
            FileDescriptors.closeQuietly(fd);
        }
    }

    @Test
    void aDescriptorThatIsNoMemfdIsRefused() throws Exception {
        int fd = EventFd.open(0, EventFd.EFD_CLOEXEC);
        try {
            ShmFormatException e = assertThrows(ShmFormatException.class,
                    () -> ShmSegment.openSealedFd(fd, SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING));
            assertTrue(e.getMessage().contains("is not a memfd"), e.getMessage());
        } finally {
            FileDescriptors.closeQuietly(fd);
        }
    }
}
