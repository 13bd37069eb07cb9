package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shmesh.linux.Errno;
import dev.shmesh.linux.Seccomp;
import dev.shmesh.linux.SyscallTable;
import org.junit.jupiter.api.Test;

/** The compiled program's semantics, checked by interpreting the exact bytes-to-be-loaded. */
class SeccompFilterTest {
    private static final int X86_64 = SyscallTable.AUDIT_ARCH_X86_64;
    private static final int I386 = 0x40000003;
    private static final int EPERM = Seccomp.RET_ERRNO | Errno.EPERM;
    private static final SeccompFilter WORKER = SeccompFilter.compile(SandboxPolicy.named("worker"));

    private static int nr(String name) {
        return SyscallTable.require(name);
    }

    @Test
    void foreignArchitecturesAreKilledAndX32IsDenied() {
        assertEquals(Seccomp.RET_KILL_PROCESS, WORKER.evaluate(I386, 3));
        assertEquals(EPERM, WORKER.evaluate(X86_64, SyscallTable.X32_SYSCALL_BIT | nr("read")));
    }

    @Test
    void listedCallsAreAllowedAndEverythingElseIsEperm() {
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("read")));
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("futex")));
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("accept4")));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("socket"), 2, 1, 0));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("swapon")));
        assertEquals(EPERM, WORKER.evaluate(X86_64, 999));
        assertEquals(Seccomp.RET_ERRNO | Errno.ENOSYS, WORKER.evaluate(X86_64, nr("clone3")));
    }

    @Test
    void cloneOnlyMakesThreads() {
        long glibcThread = 0x003d0f00L; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("clone"), glibcThread));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("clone"), 17 /* SIGCHLD: fork */));
        for (long newNs : new long[] {0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000}) {
            assertEquals(EPERM, WORKER.evaluate(X86_64, nr("clone"), glibcThread | newNs), Long.toHexString(newNs));
        }
    }

    @Test
    void opensAreReadOnly() {
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 0x80000 /* O_RDONLY|O_CLOEXEC */));
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 0x10000 /* O_DIRECTORY */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 1 /* O_WRONLY */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 2 /* O_RDWR */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 0x40 /* O_CREAT */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("openat"), -100, 0, 0x200 /* O_TRUNC */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("open"), 0, 0x241));
        assertEquals(Seccomp.RET_ERRNO | Errno.ENOSYS, WORKER.evaluate(X86_64, nr("openat2")));
    }

    @Test
    void ioctlComparesOnlyTheLow32BitsTheKernelReads() {
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("ioctl"), 0, 0x541B /* FIONREAD */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("ioctl"), 0, 0x5412 /* TIOCSTI */));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("ioctl"), 0, 0x1_0000_5412L));
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("ioctl"), 0, 0xFFFF_FFFF_0000_541BL));
    }

    @Test
    void eqComparesAll64Bits() {
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("prlimit64"), 0, 7, 0, 12345));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("prlimit64"), 0, 7, 0x7fff0000L, 0));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("prlimit64"), 0, 7, 0x1_0000_0000L, 0));
        assertEquals(Seccomp.RET_ALLOW, WORKER.evaluate(X86_64, nr("prctl"), 15));
        assertEquals(EPERM, WORKER.evaluate(X86_64, nr("prctl"), 38 /* PR_SET_NO_NEW_PRIVS */));
    }

    @Test
    void neMatchesWhenEitherWordDiffers() {
        SeccompFilter f = SeccompFilter.compile(SandboxPolicy.parse("allow dup arg0 ne 0x100000005 # test\n"));
        assertEquals(EPERM, f.evaluate(X86_64, nr("dup"), 0x100000005L));
        assertEquals(Seccomp.RET_ALLOW, f.evaluate(X86_64, nr("dup"), 5));
        assertEquals(Seccomp.RET_ALLOW, f.evaluate(X86_64, nr("dup"), 0x200000005L));
    }

    @Test
    void hostGatewayDeniesNewInetSocketsButLetsBwrapWork() {
        SeccompFilter gw = SeccompFilter.compile(SandboxPolicy.named("gateway"));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("socket"), 2 /* AF_INET */, 1, 0));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("socket"), 10 /* AF_INET6 */, 1, 0));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("socket"), 17 /* AF_PACKET */, 3, 0));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("socket"), 1 /* AF_UNIX */, 1, 0));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("socket"), 16 /* AF_NETLINK: bwrap's loopback setup */, 3, 0));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("clone"), 0x7E000000L | 17));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("mount")));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("kill"), 4242, 15));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("kill"), -1L, 9), "kill(-1) reaches every process of the uid");
        assertEquals(EPERM, gw.evaluate(X86_64, nr("kill"), -4242L, 9), "no process groups");
        assertEquals(EPERM, gw.evaluate(X86_64, nr("bpf")));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("open_by_handle_at")));
        assertEquals(EPERM, gw.evaluate(X86_64, SyscallTable.X32_SYSCALL_BIT | nr("socket"), 2, 1, 0), "x32 denied even in a denylist");
        assertEquals(Seccomp.RET_KILL_PROCESS, gw.evaluate(I386, 102 /* i386 socketcall */));
    }

    @Test
    void containerGatewayIsAnAllowlistWithUnixSocketsOnly() {
        SeccompFilter gw = SeccompFilter.compile(SandboxPolicy.named("gateway-container"));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("socket"), 2, 1, 0));
        assertEquals(Seccomp.RET_ALLOW, gw.evaluate(X86_64, nr("socket"), 1, 1, 0));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("execve")));
        assertEquals(EPERM, gw.evaluate(X86_64, nr("mount")));
    }

    @Test
    void brokerMayCreateSegmentsButNotTruncate() {
        SeccompFilter broker = SeccompFilter.compile(SandboxPolicy.named("broker"));
        assertEquals(Seccomp.RET_ALLOW, broker.evaluate(X86_64, nr("openat"), -100, 0, 0x2 | 0x40 | 0x80 /* O_RDWR|O_CREAT|O_EXCL */));
        assertEquals(EPERM, broker.evaluate(X86_64, nr("openat"), -100, 0, 0x2 | 0x200 /* O_TRUNC */));
        assertEquals(Seccomp.RET_ALLOW, broker.evaluate(X86_64, nr("ftruncate")));
        assertEquals(EPERM, broker.evaluate(X86_64, nr("socket"), 1, 1, 0));
    }

    @Test
    void programIsEightBytesPerInstructionLittleEndian() {
        byte[] p = WORKER.program();
        assertEquals(WORKER.length() * 8, p.length);
        // first instruction: BPF_LD|BPF_W|BPF_ABS of seccomp_data.arch (offset 4)
        assertEquals(0x20, p[0]);
        assertEquals(4, p[4]);
    }
}
