package dev.shmesh.service;

import dev.shmesh.sandbox.Sandbox;
import dev.shmesh.sandbox.SandboxException;
import dev.shmesh.sandbox.SandboxPolicy;
import dev.shmesh.sandbox.SandboxReport;
import java.util.logging.Logger;

/**
 * Phase 2 of the sandbox: with the control connection open, the handed fds adopted and the application warm, lock
 * this JVM into the policy the gateway named ({@code SHMESH_SECCOMP}) on every thread (TSYNC). From then on
 * socket(), connect(), bind(), execve() and namespace calls fail with EPERM.
 */
public final class InJvmSandbox {
    /** Exit code when strict and the seccomp filter cannot be armed (EX_NOPERM of sysexits.h). */
    public static final int EXIT_SANDBOX_FAILED = 77;
    private static final Logger LOG = Logger.getLogger(InJvmSandbox.class.getName());

    private InJvmSandbox() {}

    /**
     * Arms the filter {@code env} names, if any. When it cannot be armed: strict exits with
     * {@link #EXIT_SANDBOX_FAILED}, otherwise the process goes on DEGRADED and says so.
     */
    public static void armIfAsked(WorkerEnvironment env) {
        if (env.seccompPolicy().isEmpty()) {
            return;
        }
        String policy = env.seccompPolicy().get();
        try {
            SandboxReport report = Sandbox.armSeccomp(SandboxPolicy.named(policy));
            LOG.info(String.format("seccomp policy '%s' armed on %d threads (CapEff=%s NoNewPrivs=%s)", policy,
                    report.threads(), report.toMap().get("capEff"), report.toMap().get("noNewPrivs")));
        } catch (SandboxException e) {
            if (env.strict()) {
                System.err.printf("shmesh %s: refusing to run without its seccomp filter (strict): %s%n",
                        env.instanceId(), e.getMessage());
                System.exit(EXIT_SANDBOX_FAILED);
            }
            LOG.warning(env.instanceId() + " runs DEGRADED without its seccomp filter: " + e.getMessage());
        }
    }
}
