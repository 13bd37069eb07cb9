package dev.shmesh.sandbox;

import dev.shmesh.linux.ResourceLimit;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * A sandbox as data: namespaces, identity, capabilities, resource limits, mounts and a seccomp allowlist.
 * One policy feeds the launcher ({@link BwrapLauncher}), the in-JVM filter ({@link SeccompFilter}) and the
 * container profiles ({@link ProfileGenerator}). Immutable; thread-safe.
 *
 * <p>Shipped policies ({@link #named}): {@code worker}, {@code broker}, {@code gateway}, as resources
 * {@code dev/shmesh/sandbox/policies/NAME.policy}. The text format, one directive per line, {@code #} comments:
 * <pre>
 * name worker
 * include jvm                          rules of jvm.policy; this file's rules for a syscall replace the included ones
 * namespaces user pid net ipc uts mnt cgroup
 * uid 65534 / gid 65534                identity inside the user namespace
 * capabilities none                    or capability names to keep, e.g. NET_BIND_SERVICE
 * rlimit NOFILE 65536 65536            soft and hard
 * mount libs | ro-bind SRC | bind SRC | bind-try SRC | tmpfs DIR | proc DIR | dev DIR    SRC may be $JDK $APP $RUN
 * seccomp default EPERM                action for every syscall not listed: an errno name, or allow (a denylist policy)
 * allow NAME [argN OP VALUE [VALUE2]]... # reason     OP: eq, ne, masked_eq MASK VALUE (64-bit, as libseccomp)
 * errno NAME ERRNO_NAME [argN OP VALUE [VALUE2]]... # reason
 * startup NAME # reason                allowed only in the container profile, which also covers the JVM's start
 * </pre>
 * Every {@code allow}, {@code errno} and {@code startup} line must carry a reason.
 */
public record SandboxPolicy(
        String name,
        Set<Namespace> namespaces,
        int uid,
        int gid,
        Set<String> keepCapabilities,
        List<Rlimit> rlimits,
        List<Mount> mounts,
        int defaultErrno,
        List<SyscallRule> rules,
        List<SyscallRule> startupRules) {

    public SandboxPolicy {
        namespaces = Set.copyOf(namespaces);
        keepCapabilities = Set.copyOf(keepCapabilities);
        rlimits = List.copyOf(rlimits);
        mounts = List.copyOf(mounts);
        rules = List.copyOf(rules);
        startupRules = List.copyOf(startupRules);
    }

    /** A resource limit to apply: soft and hard values ({@link ResourceLimit#INFINITY} for unlimited). */
    public record Rlimit(ResourceLimit resource, long soft, long hard) {}

    /** A mount in the fresh root. {@code source} may be a placeholder {@code $JDK}, {@code $APP}, {@code $RUN}. */
    public record Mount(Kind kind, String source) {
        /** Mount kinds, as bwrap offers them. */
        public enum Kind {
            /** The system library directories the JVM needs (glibc), read-only; symlinks kept as symlinks. */
            LIBS,
            RO_BIND,
            BIND,
            BIND_TRY,
            TMPFS,
            PROC,
            DEV
        }
    }

    /** The action of a rule. */
    public enum Action {
        ALLOW,
        ERRNO
    }

    /** A comparison operator on one 64-bit syscall argument, with libseccomp's semantics. */
    public enum Op {
        /** {@code arg == value}. */
        EQ("SCMP_CMP_EQ"),
        /** {@code arg != value}. */
        NE("SCMP_CMP_NE"),
        /** {@code (arg & value) == valueTwo}: value is the mask. */
        MASKED_EQ("SCMP_CMP_MASKED_EQ");

        private final String oci;

        Op(String oci) {
            this.oci = oci;
        }

        /** The OCI runtime-spec name. */
        public String oci() {
            return oci;
        }
    }

    /** One condition: argument {@code index} (0..5) compared by {@code op}. */
    public record ArgCondition(int index, Op op, long value, long valueTwo) {
        public ArgCondition {
            if (index < 0 || index > 5) {
                throw new IllegalArgumentException("index=" + index + " is not a syscall argument 0..5");
            }
        }
    }

    /**
     * One rule: when syscall {@code name} is called and every condition holds, {@code action} applies
     * ({@code errno} is used by {@link Action#ERRNO}). Rules for one syscall are tried in order; when none
     * matches, the policy's default applies.
     */
    public record SyscallRule(String name, Action action, int errno, List<ArgCondition> conditions, String reason) {
        public SyscallRule {
            conditions = List.copyOf(conditions);
        }
    }

    /** A shipped policy: {@code worker}, {@code broker} or {@code gateway}. */
    public static SandboxPolicy named(String name) {
        return PolicyParser.parse(readResource(name), SandboxPolicy::readResource);
    }

    /** Parses policy text; {@code include} directives resolve to shipped fragments. */
    public static SandboxPolicy parse(String text) {
        return PolicyParser.parse(text, SandboxPolicy::readResource);
    }

    /**
     * The policy a container runtime applies from exec on: these rules, with each {@code startup} syscall
     * allowed (replacing its rules), under the startup line's argument conditions if it has any. It is the outer filter; the in-JVM filter armed later is
     * the inner, stricter one, and both stay in force (seccomp filters only stack).
     */
    public SandboxPolicy containerProfile() {
        java.util.Map<String, List<SyscallRule>> byName = new java.util.LinkedHashMap<>();
        for (SyscallRule r : rules) {
            byName.computeIfAbsent(r.name(), k -> new java.util.ArrayList<>()).add(r);
        }
        for (SyscallRule s : startupRules) {
            byName.put(s.name(), List.of(new SyscallRule(s.name(), Action.ALLOW, 0, s.conditions(),
                    "startup: " + s.reason())));
        }
        List<SyscallRule> merged = byName.values().stream().flatMap(List::stream).toList();
        return new SandboxPolicy(name, namespaces, uid, gid, keepCapabilities, rlimits, mounts, defaultErrno, merged, List.of());
    }

    /** True when syscalls without a matching rule are allowed (a denylist policy, {@code seccomp default allow}). */
    public boolean defaultAllows() {
        return defaultErrno == 0;
    }

    /** The rules for syscall {@code name}, in order; empty when the default action applies. */
    public List<SyscallRule> rulesFor(String syscall) {
        return rules.stream().filter(r -> r.name().equals(syscall)).toList();
    }

    static String readResource(String name) {
        String path = "policies/" + name + ".policy";
        try (InputStream in = SandboxPolicy.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("policy=" + name + " is not shipped (no resource " + path + ")");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
