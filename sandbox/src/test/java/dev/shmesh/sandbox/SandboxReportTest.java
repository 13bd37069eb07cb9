package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The self-check read in the (unsandboxed) test JVM: it must agree with /proc. */
class SandboxReportTest {

    @Test
    void agreesWithProcAndRendersAsAMapAndJson() throws Exception {
        SandboxReport r = SandboxReport.ofThisProcess();
        String status = Files.readString(Path.of("/proc/self/status"));
        assertTrue(status.contains("CapBnd:\t" + String.format("%016x", r.capBnd())), status);
        assertTrue(r.threads() > 1, "a JVM has several threads");
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString(), r.namespaces().get("net"));
        Map<String, Object> m = r.toMap();
        for (String key : new String[] {"capEff", "capPrm", "capBnd", "capAmb", "noNewPrivs", "seccomp", "seccompFilters",
                "threads", "threadsWithSeccompFilter", "uidMap", "ns.net", "ns.mnt", "ns.pid", "ns.ipc", "ns.uts", "ns.user",
                "fullyConfined"}) {
            assertTrue(m.containsKey(key), key);
        }
        String json = r.toJson();
        assertTrue(json.startsWith("{\"capEff\":\"") && json.endsWith("}"), json);
        assertTrue(json.contains("\"ns.net\":\"net:["), json);
        assertFalse(r.fullyConfined() && r.seccompMode() == 0, "an unfiltered JVM is never fully confined");
    }
}
