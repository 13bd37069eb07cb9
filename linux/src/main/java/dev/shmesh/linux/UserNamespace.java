package dev.shmesh.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * User namespaces: whether this host lets this user create one, and the calling process's uid/gid maps.
 *
 * <p>The probe never unshares the calling JVM (a multithreaded process cannot join a new user namespace);
 * it checks the sysctls that refuse them and then runs {@code unshare --user true} as a child.
 */
public final class UserNamespace {
    private UserNamespace() {}

    /**
     * Whether a new user namespace can be created by this user: {@code user.max_user_namespaces} > 0,
     * Debian's {@code kernel.unprivileged_userns_clone} and Ubuntu's AppArmor restriction when not root, and
     * finally a real {@code unshare --user true} child.
     */
    public static KernelCapabilities.Feature probe() {
        String name = "user namespaces";
        Optional<String> max = KernelCapabilities.readSysctl("/proc/sys/user/max_user_namespaces");
        if (max.isEmpty()) {
            return new KernelCapabilities.Feature(name, false,
                    "/proc/sys/user/max_user_namespaces is missing: kernel built without CONFIG_USER_NS");
        }
        if (max.get().equals("0")) {
            return new KernelCapabilities.Feature(name, false,
                    "user.max_user_namespaces=0 (or this is already inside a box that disabled them); fix: sysctl -w user.max_user_namespaces=15000");
        }
        boolean root = KernelCapabilities.isRoot();
        if (!root && KernelCapabilities.readSysctl("/proc/sys/kernel/unprivileged_userns_clone").orElse("1").equals("0")) {
            return new KernelCapabilities.Feature(name, false,
                    "kernel.unprivileged_userns_clone=0 refuses unprivileged users; fix: sysctl -w kernel.unprivileged_userns_clone=1");
        }
        if (!root && KernelCapabilities.readSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").orElse("0").equals("1")) {
            return new KernelCapabilities.Feature(name, false,
                    "kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu 24.04+); fix: an AppArmor profile for bwrap with 'userns,' "
                            + "or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
        }
        Optional<Path> unshare = KernelCapabilities.onPath("unshare");
        if (unshare.isEmpty()) {
            return new KernelCapabilities.Feature(name, true,
                    "max_user_namespaces=" + max.get() + "; not tried: unshare(1) not on PATH (Debian: util-linux)");
        }
        KernelCapabilities.RunResult r = KernelCapabilities.run(List.of(unshare.get().toString(), "--user", "true"));
        if (r.exit() != 0) {
            return new KernelCapabilities.Feature(name, false, "'unshare --user true' failed (exit " + r.exit() + "): "
                    + r.output().strip() + "; a container runtime's seccomp profile or an LSM refuses CLONE_NEWUSER");
        }
        return new KernelCapabilities.Feature(name, true, "max_user_namespaces=" + max.get() + ", 'unshare --user true' succeeded");
    }

    /** The calling process's {@code /proc/self/uid_map}, one mapping per line ("inside outside count"). */
    public static String uidMap() throws IOException {
        return normalise(Files.readString(Path.of("/proc/self/uid_map")));
    }

    /** The calling process's {@code /proc/self/gid_map}. */
    public static String gidMap() throws IOException {
        return normalise(Files.readString(Path.of("/proc/self/gid_map")));
    }

    private static String normalise(String map) {
        return String.join("; ", map.strip().lines().map(l -> l.strip().replaceAll("\\s+", " ")).toList());
    }
}
