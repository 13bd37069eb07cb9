package dev.shmesh.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The prctl/capability/rlimit/fd bindings against the real kernel (nothing here is irreversible for the test JVM). */
@Timeout(30)
class SandboxPrimitivesTest {

    @Test
    void capgetAgreesWithProcStatus() throws Exception {
        CapabilitySet caps = CapabilitySet.ofCallingThread();
        String status = Files.readString(Path.of("/proc/thread-self/status"));
        long capEff = Long.parseUnsignedLong(field(status, "CapEff"), 16);
        long capPrm = Long.parseUnsignedLong(field(status, "CapPrm"), 16);
        assertEquals(capEff, caps.effective());
        assertEquals(capPrm, caps.permitted());
    }

    @Test
    void seccompModeOfTheTestJvmIsReadable() throws Exception {
        int mode = Prctl.seccompMode();
        assertEquals(Integer.parseInt(field(Files.readString(Path.of("/proc/thread-self/status")), "Seccomp")), mode);
    }

    @Test
    void boundingSetReadMatchesProcStatus() throws Exception {
        long capBnd = Long.parseUnsignedLong(field(Files.readString(Path.of("/proc/thread-self/status")), "CapBnd"), 16);
        assertEquals((capBnd & (1L << CapabilitySet.CAP_SYS_ADMIN)) != 0, Prctl.inBoundingSet(CapabilitySet.CAP_SYS_ADMIN));
    }

    @Test
    void rlimitRoundTripsThroughPrlimit() throws Exception {
        long[] nofile = ResourceLimit.NOFILE.get();
        // setting the same values is allowed without privilege and proves the struct layout
        ResourceLimit.NOFILE.set(nofile[0], nofile[1]);
        assertEquals(nofile[0], ResourceLimit.NOFILE.get()[0]);
        assertEquals(nofile[1], ResourceLimit.NOFILE.get()[1]);
    }

    @Test
    void eventfdCountsSignals() throws Exception {
        int fd = EventFd.open(0, EventFd.EFD_CLOEXEC | EventFd.EFD_NONBLOCK);
        try {
            LinuxException empty = assertThrows(LinuxException.class, () -> EventFd.await(fd));
            assertEquals(Errno.EAGAIN, empty.errno());
            EventFd.signal(fd, 3);
            EventFd.signal(fd, 4);
            assertEquals(7, EventFd.await(fd));
        } finally {
            FileDescriptors.close(fd);
        }
    }

    @Test
    void memfdHasTheRequestedSize() throws Exception {
        int fd = MemFd.create("shmesh-test", 8192, MemFd.MFD_CLOEXEC);
        try {
            assertEquals(8192, Files.size(Path.of("/proc/self/fd/" + fd)));
        } finally {
            FileDescriptors.close(fd);
        }
    }

    @Test
    void pidfdSignalZeroProbesALiveProcess() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").start();
        try {
            int pidfd = PidFd.open(child.pid());
            try {
                PidFd.sendSignal(pidfd, 0);
                PidFd.sendSignal(pidfd, 9);
                assertEquals(128 + 9, child.waitFor(), "killed by SIGKILL through the pidfd");
            } finally {
                FileDescriptors.close(pidfd);
            }
        } finally {
            child.destroyForcibly();
        }
        LinuxException e = assertThrows(LinuxException.class, () -> PidFd.open(Integer.MAX_VALUE));
        assertEquals("pidfd_open", e.syscall());
    }

    @Test
    void rawSyscallReportsErrnoWithoutThrowing() {
        RawSyscall.Outcome getpid = RawSyscall.invoke(SyscallTable.require("getpid"));
        assertEquals(ProcessHandle.current().pid(), getpid.value());
        RawSyscall.Outcome bad = RawSyscall.invoke(SyscallTable.require("close"), -1);
        assertFalse(bad.succeeded());
        assertEquals(Errno.EBADF, bad.errno());
    }

    @Test
    void everyProbeExplainsItself() {
        for (KernelCapabilities.Feature f : KernelCapabilities.all()) {
            assertFalse(f.detail().isBlank(), f.name());
        }
        assertTrue(SyscallTable.number("clone3").isPresent());
        assertEquals(317, SyscallTable.require("seccomp"));
    }

    private static String field(String status, String name) {
        return status.lines()
                .filter(l -> l.startsWith(name + ":"))
                .map(l -> l.substring(name.length() + 1).strip())
                .findFirst()
                .orElseThrow();
    }
}
