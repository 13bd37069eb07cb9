package dev.shmesh.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads this process's privilege and namespace state from /proc for the health report. */
final class ProcSelf {
    private static final List<String> STATUS_FIELDS =
            List.of("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters");
    private static final List<String> NAMESPACES = List.of("net", "mnt", "pid", "ipc", "uts", "user");

    private ProcSelf() {}

    /** CapEff, CapPrm, CapBnd, CapAmb, NoNewPrivs, Seccomp, Seccomp_filters and ns.&lt;kind&gt; ids. */
    static Map<String, String> sandboxState() {
        Map<String, String> state = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && STATUS_FIELDS.contains(line.substring(0, colon))) {
                    state.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            state.put("error", "/proc/self/status unreadable: " + e.getMessage());
        }
        for (String ns : NAMESPACES) {
            try {
                state.put("ns." + ns, Files.readSymbolicLink(Path.of("/proc/self/ns", ns)).toString());
            } catch (IOException e) {
                state.put("ns." + ns, "unreadable");
            }
        }
        return state;
    }

    /** Resident set size in bytes (VmRSS), or -1 when unreadable. */
    static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String kb = line.substring(6).trim().split("\\s+")[0];
                    return Long.parseLong(kb) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
