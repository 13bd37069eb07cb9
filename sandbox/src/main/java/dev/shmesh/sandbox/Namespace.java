package dev.shmesh.sandbox;

/** A Linux namespace kind, by its {@code /proc/PID/ns/} name and the bwrap flag that unshares it. */
public enum Namespace {
    USER("user", "--unshare-user"),
    PID("pid", "--unshare-pid"),
    NET("net", "--unshare-net"),
    IPC("ipc", "--unshare-ipc"),
    UTS("uts", "--unshare-uts"),
    MNT("mnt", null),
    CGROUP("cgroup", "--unshare-cgroup-try");

    private final String procName;
    private final String bwrapFlag;

    Namespace(String procName, String bwrapFlag) {
        this.procName = procName;
        this.bwrapFlag = bwrapFlag;
    }

    /** The entry name under {@code /proc/PID/ns/}. */
    public String procName() {
        return procName;
    }

    /** The bwrap option; null for the mount namespace, which bwrap always creates. */
    String bwrapFlag() {
        return bwrapFlag;
    }

    static Namespace ofProcName(String name) {
        for (Namespace n : values()) {
            if (n.procName.equals(name)) {
                return n;
            }
        }
        throw new IllegalArgumentException("namespace=" + name + " is not one of user pid net ipc uts mnt cgroup");
    }
}
