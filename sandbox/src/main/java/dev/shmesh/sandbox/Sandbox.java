package dev.shmesh.sandbox;

import dev.shmesh.linux.LinuxException;
import dev.shmesh.linux.Prctl;
import dev.shmesh.linux.ResourceLimit;
import dev.shmesh.linux.Seccomp;

/**
 * The in-JVM phase of the sandbox: the JVM-wide "arm once warm" entry point.
 *
 * <p>Call {@link #armSeccomp} once the service has opened every file and socket it will need and has warmed
 * up (classes loaded, thread pools started). Steps, in order; the first failure stops and nothing is left
 * half-armed beyond what the kernel cannot undo (lowered limits, no_new_privs):
 * <ol>
 *   <li>set resource limits to the policy's: hard limits only ever go down, soft limits go to the policy's
 *       value capped by the hard limit;
 *   <li>{@code prctl(PR_SET_NO_NEW_PRIVS, 1)} on the calling thread;
 *   <li>{@code seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)}: one filter for every thread of the
 *       JVM, which also gives every thread no_new_privs;
 *   <li>verify from {@code /proc/self/task/*}/status that every thread reports {@code Seccomp: 2}.
 * </ol>
 * Thread-safe: concurrent and repeated calls arm at most once.
 */
public final class Sandbox {
    private static SeccompFilter armed; // guarded by Sandbox.class

    private Sandbox() {}

    /**
     * Arms {@code policy}'s seccomp filter on every thread of this JVM and returns the self-check taken right
     * after. A second call with the same policy name returns a fresh report; with another policy it throws
     * {@link IllegalStateException} (filters only ever stack, they cannot be replaced).
     *
     * @throws SandboxException naming the failed step, its errno and what to do
     */
    public static synchronized SandboxReport armSeccomp(SandboxPolicy policy) throws SandboxException {
        if (armed != null) {
            if (!armed.policyName().equals(policy.name())) {
                throw new IllegalStateException("policy=" + policy.name() + " but seccomp is already armed with policy=" + armed.policyName());
            }
            return SandboxReport.ofThisProcess();
        }
        SeccompFilter filter = SeccompFilter.compile(policy);
        String without = "no syscall allowlist: socket/connect/execve/namespace calls stay possible";
        for (SandboxPolicy.Rlimit r : policy.rlimits()) {
            try {
                long[] now = r.resource().get();
                long hard = lower(now[1], r.hard());
                long soft = lower(hard, r.soft()); // a soft limit may rise up to the hard one without privilege
                r.resource().set(soft, hard);
            } catch (LinuxException e) {
                throw new SandboxException("setrlimit(RLIMIT_" + r.resource() + ")", e.getMessage(),
                        "the inherited limits", "run the JVM with limits at or above the policy's", e);
            }
        }
        try {
            Prctl.setNoNewPrivs();
        } catch (LinuxException e) {
            throw new SandboxException("prctl(PR_SET_NO_NEW_PRIVS)", e.getMessage(), without,
                    "a kernel >= 3.5; check that no LSM forbids prctl", e);
        }
        try {
            Seccomp.setModeFilter(filter.program(), Seccomp.FLAG_TSYNC);
        } catch (LinuxException e) {
            throw new SandboxException("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)", e.getMessage(), without,
                    "a kernel >= 3.17 with CONFIG_SECCOMP_FILTER; under a container, a runtime profile that allows seccomp()", e);
        }
        armed = filter;
        SandboxReport report = SandboxReport.ofThisProcess();
        if (report.threadsWithSeccompFilter() != report.threads() || report.seccompMode() != 2) {
            throw new SandboxException("verify TSYNC", report.threadsWithSeccompFilter() + " of " + report.threads()
                    + " threads report Seccomp: 2", "some threads unfiltered", "report this as a bug: TSYNC returned success", null);
        }
        return report;
    }

    /** Whether {@link #armSeccomp} has succeeded in this JVM. */
    public static synchronized boolean armed() {
        return armed != null;
    }

    /** The lower of two rlimit values, with RLIM_INFINITY (-1) as the largest. */
    private static long lower(long current, long wanted) {
        return Long.compareUnsigned(current, wanted) <= 0 ? current : wanted;
    }
}
