package dev.shmesh.sandbox;

/**
 * A sandbox step that failed: which step, why (the syscall and errno, or the missing tool), what the process
 * would run without, and how to fix it. The message is meant for an operator, not a stack trace.
 */
public final class SandboxException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String step;
    private final String reason;
    private final String runsWithout;
    private final String fix;

    public SandboxException(String step, String reason, String runsWithout, String fix, Throwable cause) {
        super("sandbox step '" + step + "' failed: " + reason + "; without it: " + runsWithout + "; fix: " + fix, cause);
        this.step = step;
        this.reason = reason;
        this.runsWithout = runsWithout;
        this.fix = fix;
    }

    /** The step that failed, e.g. {@code bwrap: user namespace} or {@code seccomp(SECCOMP_SET_MODE_FILTER)}. */
    public String step() {
        return step;
    }

    /** Why: the syscall and errno, or what is missing. */
    public String reason() {
        return reason;
    }

    /** What the process would run without if it went on. */
    public String runsWithout() {
        return runsWithout;
    }

    /** How an operator fixes it. */
    public String fix() {
        return fix;
    }
}
