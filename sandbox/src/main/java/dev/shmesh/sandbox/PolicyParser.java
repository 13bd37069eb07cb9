package dev.shmesh.sandbox;

import dev.shmesh.linux.Errno;
import dev.shmesh.linux.ResourceLimit;
import dev.shmesh.linux.SyscallTable;
import dev.shmesh.sandbox.SandboxPolicy.Action;
import dev.shmesh.sandbox.SandboxPolicy.ArgCondition;
import dev.shmesh.sandbox.SandboxPolicy.Mount;
import dev.shmesh.sandbox.SandboxPolicy.Op;
import dev.shmesh.sandbox.SandboxPolicy.Rlimit;
import dev.shmesh.sandbox.SandboxPolicy.SyscallRule;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Parses the policy text format described on {@link SandboxPolicy}. Errors name the line. */
final class PolicyParser {
    private String name = "unnamed";
    private Set<Namespace> namespaces = EnumSet.noneOf(Namespace.class);
    private int uid = 65534;
    private int gid = 65534;
    private final Set<String> keep = new LinkedHashSet<>();
    private final Map<ResourceLimit, Rlimit> rlimits = new LinkedHashMap<>();
    private final List<Mount> mounts = new ArrayList<>();
    private int defaultErrno = Errno.EPERM;
    private final Map<String, List<SyscallRule>> rules = new LinkedHashMap<>();
    private final Map<String, SyscallRule> startup = new LinkedHashMap<>();

    private PolicyParser() {}

    static SandboxPolicy parse(String text, Function<String, String> includes) {
        PolicyParser p = new PolicyParser();
        p.read(text, includes, 0);
        List<SyscallRule> all = new ArrayList<>();
        p.rules.values().forEach(all::addAll);
        return new SandboxPolicy(
                p.name, p.namespaces, p.uid, p.gid, p.keep, List.copyOf(p.rlimits.values()), p.mounts,
                p.defaultErrno, all, List.copyOf(p.startup.values()));
    }

    private void read(String text, Function<String, String> includes, int depth) {
        if (depth > 4) {
            throw new IllegalArgumentException("include depth=" + depth + " is too deep (a cycle?)");
        }
        // this file's rules for a syscall replace the included ones: track which names this file has touched
        Set<String> touched = new LinkedHashSet<>();
        int lineNo = 0;
        for (String raw : text.split("\n", -1)) {
            lineNo++;
            int hash = raw.indexOf('#');
            String reason = hash >= 0 ? raw.substring(hash + 1).strip() : "";
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] w = line.split("\\s+");
            try {
                switch (w[0]) {
                    case "name" -> name = one(w);
                    case "include" -> read(includes.apply(one(w)), includes, depth + 1);
                    case "namespaces" -> {
                        namespaces = EnumSet.noneOf(Namespace.class);
                        for (int i = 1; i < w.length; i++) {
                            namespaces.add(Namespace.ofProcName(w[i]));
                        }
                    }
                    case "uid" -> uid = Integer.parseInt(one(w));
                    case "gid" -> gid = Integer.parseInt(one(w));
                    case "capabilities" -> {
                        keep.clear();
                        for (int i = 1; i < w.length; i++) {
                            if (!w[i].equals("none")) {
                                keep.add(w[i]);
                            }
                        }
                    }
                    case "rlimit" -> {
                        need(w, 4);
                        ResourceLimit r = ResourceLimit.valueOf(w[1]);
                        rlimits.put(r, new Rlimit(r, limit(w[2]), limit(w[3])));
                    }
                    case "mount" -> {
                        Mount.Kind kind = Mount.Kind.valueOf(w[1].toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
                        if (kind == Mount.Kind.LIBS) {
                            need(w, 2);
                            mounts.add(new Mount(kind, ""));
                        } else {
                            need(w, 3);
                            mounts.add(new Mount(kind, w[2]));
                        }
                    }
                    case "seccomp" -> {
                        need(w, 3);
                        if (!w[1].equals("default")) {
                            throw new IllegalArgumentException("expected 'seccomp default ERRNO|allow'");
                        }
                        defaultErrno = w[2].equals("allow") ? 0 : errno(w[2]);
                    }
                    case "allow", "errno", "startup" -> {
                        if (reason.isEmpty()) {
                            throw new IllegalArgumentException("every syscall line needs a '# reason'");
                        }
                        String sys = w[1];
                        SyscallTable.require(sys);
                        if (w[0].equals("startup")) {
                            startup.put(sys, new SyscallRule(sys, Action.ALLOW, 0, conditions(w, 2), reason));
                            continue;
                        }
                        if (touched.add(sys)) {
                            rules.remove(sys);
                        }
                        SyscallRule rule = w[0].equals("errno")
                                ? new SyscallRule(sys, Action.ERRNO, errno(w.length >= 3 ? w[2] : fail("expected 'errno NAME ERRNO'")), conditions(w, 3), reason)
                                : new SyscallRule(sys, Action.ALLOW, 0, conditions(w, 2), reason);
                        rules.computeIfAbsent(sys, k -> new ArrayList<>()).add(rule);
                    }
                    default -> throw new IllegalArgumentException("unknown directive '" + w[0] + "'");
                }
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("policy line " + lineNo + " '" + raw.strip() + "': " + e.getMessage(), e);
            }
        }
    }

    private static List<ArgCondition> conditions(String[] w, int start) {
        List<ArgCondition> out = new ArrayList<>();
        int i = start;
        while (i < w.length) {
            if (!w[i].startsWith("arg")) {
                throw new IllegalArgumentException("expected argN, got '" + w[i] + "'");
            }
            int index = Integer.parseInt(w[i].substring(3));
            Op op = Op.valueOf(w[i + 1].toUpperCase(java.util.Locale.ROOT));
            if (op == Op.MASKED_EQ) {
                out.add(new ArgCondition(index, op, number(w[i + 2]), number(w[i + 3])));
                i += 4;
            } else {
                out.add(new ArgCondition(index, op, number(w[i + 2]), 0));
                i += 3;
            }
        }
        return out;
    }

    private static long number(String s) {
        return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    private static long limit(String s) {
        return s.equals("unlimited") ? ResourceLimit.INFINITY : Long.parseLong(s);
    }

    private static int errno(String s) {
        for (int e = 1; e < 134; e++) {
            if (Errno.name(e).equals(s)) {
                return e;
            }
        }
        throw new IllegalArgumentException("errno=" + s + " is not a known errno name");
    }

    private static String one(String[] w) {
        need(w, 2);
        return w[1];
    }

    private static void need(String[] w, int n) {
        if (w.length != n) {
            throw new IllegalArgumentException("expected " + (n - 1) + " argument(s), got " + (w.length - 1));
        }
    }

    private static String fail(String message) {
        throw new IllegalArgumentException(message);
    }
}
