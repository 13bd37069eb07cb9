package dev.shmesh.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The self-check: what the kernel says about this process's confinement, from {@code /proc/self/status},
 * every {@code /proc/self/task/TID/status} and {@code /proc/self/ns/*}. For status pages and health
 * endpoints ({@link #toMap()}, {@link #toJson()}). Reading it needs only read-only opens, so it works after
 * seccomp is armed.
 *
 * @param capEff effective capabilities of the main thread (hex mask as a number)
 * @param threads threads found under {@code /proc/self/task}
 * @param threadsWithSeccompFilter of those, threads whose {@code Seccomp:} is 2
 * @param uidMap {@code /proc/self/uid_map} as "inside outside count", mappings separated by "; "
 * @param namespaces namespace name to its id, e.g. {@code net -> net:[4026532285]}
 */
public record SandboxReport(
        long capEff,
        long capPrm,
        long capBnd,
        long capAmb,
        boolean noNewPrivs,
        int seccompMode,
        int seccompFilters,
        int threads,
        int threadsWithSeccompFilter,
        int threadsWithNoNewPrivs,
        String uidMap,
        Map<String, String> namespaces) {

    public SandboxReport {
        namespaces = Map.copyOf(namespaces);
    }

    /** Reads the report of the calling process. */
    public static SandboxReport ofThisProcess() {
        Map<String, String> status = status(Path.of("/proc/self/status"));
        int threads = 0;
        int filtered = 0;
        int nnp = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                Map<String, String> t = status(task.resolve("status"));
                if (t.isEmpty()) {
                    continue; // the thread ended while we looked
                }
                threads++;
                if ("2".equals(t.get("Seccomp"))) {
                    filtered++;
                }
                if ("1".equals(t.get("NoNewPrivs"))) {
                    nnp++;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc/self/task: " + e.getMessage(), e);
        }
        Map<String, String> ns = new LinkedHashMap<>();
        for (Namespace n : Namespace.values()) {
            try {
                ns.put(n.procName(), Files.readSymbolicLink(Path.of("/proc/self/ns", n.procName())).toString());
            } catch (IOException | UnsupportedOperationException e) {
                ns.put(n.procName(), "unreadable");
            }
        }
        return new SandboxReport(
                hex(status, "CapEff"), hex(status, "CapPrm"), hex(status, "CapBnd"), hex(status, "CapAmb"),
                "1".equals(status.get("NoNewPrivs")),
                Integer.parseInt(status.getOrDefault("Seccomp", "-1")),
                Integer.parseInt(status.getOrDefault("Seccomp_filters", "-1")),
                threads, filtered, nnp, readUidMap(), ns);
    }

    private static String readUidMap() {
        try {
            return dev.shmesh.linux.UserNamespace.uidMap();
        } catch (IOException e) {
            return "unreadable";
        }
    }

    /** True when no capability is effective, permitted, bounding or ambient, no_new_privs is set and every thread is filtered. */
    public boolean fullyConfined() {
        return capEff == 0 && capPrm == 0 && capBnd == 0 && capAmb == 0 && noNewPrivs && seccompMode == 2
                && threads == threadsWithSeccompFilter;
    }

    /** The report as an ordered map of strings, numbers and booleans (capability masks as 16-digit hex strings). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("capEff", String.format("%016x", capEff));
        m.put("capPrm", String.format("%016x", capPrm));
        m.put("capBnd", String.format("%016x", capBnd));
        m.put("capAmb", String.format("%016x", capAmb));
        m.put("noNewPrivs", noNewPrivs);
        m.put("seccomp", seccompMode);
        m.put("seccompFilters", seccompFilters);
        m.put("threads", threads);
        m.put("threadsWithSeccompFilter", threadsWithSeccompFilter);
        m.put("threadsWithNoNewPrivs", threadsWithNoNewPrivs);
        m.put("uidMap", uidMap);
        for (Namespace n : Namespace.values()) {
            m.put("ns." + n.procName(), namespaces.getOrDefault(n.procName(), "unreadable"));
        }
        m.put("fullyConfined", fullyConfined());
        return m;
    }

    /** {@link #toMap()} as one line of JSON. */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, Object> e : toMap().entrySet()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            if (v instanceof String s) {
                sb.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            } else {
                sb.append(v);
            }
        }
        return sb.append('}').toString();
    }

    private static Map<String, String> status(Path file) {
        Map<String, String> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    m.put(line.substring(0, colon), line.substring(colon + 1).strip());
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return m;
    }

    private static long hex(Map<String, String> status, String key) {
        String v = status.get(key);
        return v == null ? -1 : Long.parseUnsignedLong(v, 16);
    }
}
