package dev.shmesh.sandbox.probe;

import dev.shmesh.linux.Errno;
import dev.shmesh.linux.RawSyscall;
import dev.shmesh.linux.ResourceLimit;
import dev.shmesh.linux.SyscallTable;
import dev.shmesh.sandbox.Sandbox;
import dev.shmesh.sandbox.SandboxPolicy;
import dev.shmesh.sandbox.SandboxReport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The escape probe: run inside the launcher's box, it warms up, arms a policy's seccomp filter, then tries
 * each forbidden action with raw system calls and prints one line per action: {@code name result errno},
 * e.g. {@code socket_inet fail EPERM} or {@code jvm_gc ok -}. Lines {@code report JSON} and {@code done}
 * frame the output. In the spirit of bubblewrap's {@code tests/try-syscall.c}: the test asserts the exact
 * errno of each line.
 *
 * <p>Usage: {@code EscapeProbe POLICY PARENT_PID HOST_PATH [HOST_LOOPBACK_PORT]}. Every attempt uses arguments that would be
 * harmless even if the filter let it through (paths that do not exist, a wrong reboot magic, remote address 0),
 * and a forbidden call that unexpectedly creates a child process makes that child exit at once: the probe can
 * run outside the launcher, with seccomp alone, as root.
 */
public final class EscapeProbe {
    private static final long AT_FDCWD = -100;
    private static final int CLONE_NEWUSER = 0x10000000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int SIGCHLD = 17;
    /** Path targets that do not exist, so a call that wrongly got through still changes nothing. */
    private static final String NOWHERE = "/nonexistent-shmesh-probe";

    private final Arena arena = Arena.ofAuto();

    private EscapeProbe() {}

    public static void main(String[] args) throws Exception {
        String policyName = args.length > 0 ? args[0] : "worker";
        long parentPid = args.length > 1 ? Long.parseLong(args[1]) : 1;
        String hostPath = args.length > 2 ? args[2] : "/etc/hostname";
        int hostPort = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        try {
            new EscapeProbe().run(SandboxPolicy.named(policyName), parentPid, hostPath, hostPort);
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(2); // the warm-up pool's threads would keep the JVM alive
        }
    }

    private void run(SandboxPolicy policy, long parentPid, String hostPath, int hostPort) throws Exception {
        String jdk = System.getProperty("java.home");
        // mount layer alone, before seccomp: the JDK is a read-only bind
        if (Files.getFileStore(Path.of(jdk)).isReadOnly()) {
            attempt("prearm_write_jdk", nr("openat"), AT_FDCWD, str(jdk + "/shmesh-probe"), 0xC1 /* O_WRONLY|O_CREAT|O_EXCL */, 0644);
        } else {
            out("prearm_write_jdk writable-mount -"); // not in a box: never write into a host JDK
        }

        // the namespaces alone, before seccomp: the parent's pid does not exist here, the host's loopback is not ours
        attempt("prearm_kill_parent", nr("kill"), parentPid, 0);
        if (hostPort > 0) {
            RawSyscall.Outcome fd = RawSyscall.invoke(nr("socket"), 2, 1 | 0x80000 /* SOCK_STREAM|SOCK_CLOEXEC */, 0);
            MemorySegment sa = loopback(hostPort);
            attempt("prearm_connect_host_port", nr("connect"), fd.value(), sa.address(), 16);
            RawSyscall.invoke(nr("close"), fd.value());
        }
        out("prearm_no_new_privs " + statusField("NoNewPrivs") + " -");

        // warm up like a service: a pool of threads, allocation, class loading; then arm
        ExecutorService pool = Executors.newFixedThreadPool(3);
        for (int i = 0; i < 6; i++) {
            pool.submit(() -> new byte[1 << 20].length).get();
        }
        long t0 = System.nanoTime();
        SandboxReport report = Sandbox.armSeccomp(policy);
        long armMicros = (System.nanoTime() - t0) / 1000;
        out("report " + report.toJson());
        out("arm_micros " + armMicros);
        for (ResourceLimit r : new ResourceLimit[] {ResourceLimit.CORE, ResourceLimit.NOFILE, ResourceLimit.NPROC}) {
            long[] lim = r.get(); // prlimit64 with no new limit: allowed after arming
            out("rlimit_" + r.name().toLowerCase(java.util.Locale.ROOT) + " " + lim[0] + " " + lim[1]);
        }
        attempt("raise_rlimit_core", nr("prlimit64"), 0, ResourceLimit.CORE.resource(), rlimit(1 << 20), 0);

        MemorySegment sockaddr = loopback(hostPort > 0 ? hostPort : 80);

        attempt("socket_inet", nr("socket"), 2, 1, 0);
        attempt("socket_inet6", nr("socket"), 10, 1, 0);
        attempt("socket_unix", nr("socket"), 1, 1, 0);
        attempt("socket_netlink", nr("socket"), 16, 3, 0);
        attempt("socket_packet", nr("socket"), 17, 3, 0);
        // on fd 0 (not a socket): without seccomp these would fail with ENOTSOCK instead
        attempt("connect_loopback", nr("connect"), 0, sockaddr.address(), 16);
        attempt("bind", nr("bind"), 0, sockaddr.address(), 16);
        attempt("listen", nr("listen"), 0, 16);
        long argv = argv(jdk + "/bin/java", "-version");
        attempt("execve", nr("execve"), str(jdk + "/bin/java"), argv, argv(/* envp */));
        attempt("execveat", nr("execveat"), AT_FDCWD, str(jdk + "/bin/java"), argv, argv(), 0);
        tryFork("fork", nr("fork"));
        tryFork("vfork", nr("vfork"));
        tryFork("clone_process", nr("clone"), SIGCHLD, 0, 0, 0, 0);
        tryFork("clone_newuser", nr("clone"), CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        tryFork("clone_newnet", nr("clone"), CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
        tryFork("clone3", nr("clone3"), 0, 0);
        attempt("unshare", nr("unshare"), CLONE_NEWUSER);
        attempt("setns", nr("setns"), 0, 0);
        attempt("mount", nr("mount"), str("none"), str(NOWHERE), str("tmpfs"), 0, 0);
        attempt("umount2", nr("umount2"), str(NOWHERE), 2 /* MNT_DETACH */);
        attempt("pivot_root", nr("pivot_root"), str(NOWHERE), str(NOWHERE));
        attempt("chroot", nr("chroot"), str(NOWHERE));
        attempt("ptrace_traceme", nr("ptrace"), 0 /* PTRACE_TRACEME */, 0, 0, 0);
        attempt("ptrace_attach_parent", nr("ptrace"), 16 /* PTRACE_ATTACH */, parentPid, 0, 0);
        MemorySegment iov = arena.allocate(16, 8);
        MemorySegment buf = arena.allocate(64);
        MemorySegment remote = arena.allocate(16, 8); // remote address 0: EFAULT even if the call got through
        iov.set(ValueLayout.ADDRESS, 0, buf);
        iov.set(ValueLayout.JAVA_LONG, 8, 64);
        remote.set(ValueLayout.JAVA_LONG, 0, 0);
        remote.set(ValueLayout.JAVA_LONG, 8, 64);
        attempt("process_vm_readv", nr("process_vm_readv"), parentPid, iov.address(), 1, remote.address(), 1, 0);
        attempt("process_vm_writev", nr("process_vm_writev"), parentPid, iov.address(), 1, remote.address(), 1, 0);
        attempt("kill_parent", nr("kill"), parentPid, 0);
        out("parent_visible " + (Files.exists(Path.of("/proc/" + parentPid)) ? "yes" : "no") + " -");
        attempt("setuid_0", nr("setuid"), 0);
        attempt("setgid_0", nr("setgid"), 0);
        attempt("open_shadow", nr("openat"), AT_FDCWD, str("/etc/shadow"), 0, 0);
        attempt("open_host_path", nr("openat"), AT_FDCWD, str(hostPath), 0, 0);
        attempt("write_jdk_create", nr("openat"), AT_FDCWD, str(jdk + "/shmesh-probe"), 0x41, 0644);
        attempt("write_jdk_existing", nr("openat"), AT_FDCWD, str(jdk + "/release"), 2 /* O_RDWR */, 0);
        attempt("open_tmp_create", nr("openat"), AT_FDCWD, str("/tmp/shmesh-probe"), 0x241, 0644);
        attempt("mkdir_jdk", nr("mkdir"), str(jdk + "/shmesh-probe"), 0755);
        attempt("keyctl", nr("keyctl"), 0, 0, 0, 0, 0);
        attempt("add_key", nr("add_key"), str("user"), str("shmesh"), str("x"), 1, -3 /* KEY_SPEC_USER_KEYRING */);
        attempt("bpf", nr("bpf"), 0, 0, 0);
        attempt("perf_event_open", nr("perf_event_open"), 0, 0, -1, -1, 0);
        attempt("userfaultfd", nr("userfaultfd"), 0);
        attempt("io_uring_setup", nr("io_uring_setup"), 1, buf.address());
        attempt("init_module", nr("init_module"), 0, 0, str("")); // NULL image: EFAULT if it got through
        attempt("kexec_load", nr("kexec_load"), 0, 1, 0, 0xFFFF0000L); // bogus arch flags: EINVAL if it got through
        attempt("reboot", nr("reboot"), 0xfee1dead, 0, 0x4321fedc, 0); // wrong magic2: EINVAL if it got through
        attempt("personality", nr("personality"), 0x0400000 /* READ_IMPLIES_EXEC */);
        // in a daemon thread: libseccomp-built container profiles treat x32 as a foreign arch and kill the thread
        Thread x32 = Thread.ofPlatform().daemon().start(() -> attempt("x32_getpid", SyscallTable.X32_SYSCALL_BIT | nr("getpid")));
        x32.join(2000);
        if (x32.isAlive()) {
            out("x32_getpid killed -");
        }
        out("netdev " + netdevs() + " -");

        // the JVM still works: allocation, a new thread, a GC, class loading, reading the JDK dir
        byte[][] garbage = new byte[64][];
        for (int i = 0; i < garbage.length; i++) {
            garbage[i] = new byte[256 * 1024];
        }
        out("jvm_alloc ok " + garbage.length);
        Thread t = Thread.ofPlatform().start(() -> {});
        t.join(5000);
        out("jvm_thread " + (t.isAlive() ? "fail" : "ok") + " -");
        out("jvm_pool " + (pool.submit(() -> 42).get() == 42 ? "ok" : "fail") + " -");
        System.gc();
        out("jvm_gc ok -");
        out("jvm_classload " + (Class.forName("java.util.concurrent.Exchanger").getName().isEmpty() ? "fail" : "ok") + " -");
        out("jvm_read_jdk " + (Files.readString(Path.of(jdk, "release")).contains("JAVA_VERSION") ? "ok" : "fail") + " -");
        SandboxReport after = SandboxReport.ofThisProcess();
        out("threads_after " + after.threadsWithSeccompFilter() + "/" + after.threads() + " -");
        pool.shutdown();
        pool.awaitTermination(5, TimeUnit.SECONDS);
        out("done");
        System.out.flush();
    }

    private void attempt(String name, long nr, long... args) {
        RawSyscall.Outcome o = RawSyscall.invoke(nr, args);
        out(name + " " + (o.succeeded() ? "ok " + o.value() : "fail " + Errno.name(o.errno())));
    }

    /** A call that may create a process: if it did, the child leaves at once. */
    private void tryFork(String name, long nr, long... args) {
        RawSyscall.Outcome o = RawSyscall.invoke(nr, args);
        if (o.succeeded() && o.value() == 0) {
            RawSyscall.invoke(nr("exit_group"), 99);
        }
        out(name + " " + (o.succeeded() ? "ok " + o.value() : "fail " + Errno.name(o.errno())));
    }

    private MemorySegment loopback(int port) {
        MemorySegment sa = arena.allocate(16, 8);
        sa.set(ValueLayout.JAVA_SHORT, 0, (short) 2);
        sa.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) port);
        sa.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 4, 0x7f000001);
        return sa;
    }

    private long rlimit(long value) {
        MemorySegment lim = arena.allocate(16, 8);
        lim.set(ValueLayout.JAVA_LONG, 0, value);
        lim.set(ValueLayout.JAVA_LONG, 8, value);
        return lim.address();
    }

    private static String statusField(String name) {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith(name + ":"))
                    .map(l -> l.substring(name.length() + 1).strip())
                    .findFirst()
                    .orElse("missing");
        } catch (java.io.IOException e) {
            return "unreadable";
        }
    }

    private static long nr(String name) {
        return SyscallTable.require(name);
    }

    private long str(String s) {
        return arena.allocateFrom(s, StandardCharsets.UTF_8).address();
    }

    private long argv(String... items) {
        MemorySegment a = arena.allocate(8L * (items.length + 1), 8);
        for (int i = 0; i < items.length; i++) {
            a.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(items[i], StandardCharsets.UTF_8));
        }
        a.setAtIndex(ValueLayout.ADDRESS, items.length, MemorySegment.NULL);
        return a.address();
    }

    private static String netdevs() {
        try {
            List<String> names = new ArrayList<>();
            for (String line : Files.readAllLines(Path.of("/proc/net/dev"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.contains("|")) {
                    names.add(line.substring(0, colon).strip());
                }
            }
            return String.join(",", names);
        } catch (Exception e) {
            return "unreadable:" + e.getClass().getSimpleName();
        }
    }

    private synchronized void out(String line) {
        System.out.println(line);
    }
}
