package dev.shmesh.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shmesh.linux.Errno;
import dev.shmesh.linux.ResourceLimit;
import dev.shmesh.sandbox.SandboxPolicy.Action;
import dev.shmesh.sandbox.SandboxPolicy.Op;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SandboxPolicyTest {

    @ParameterizedTest
    @ValueSource(strings = {"worker", "broker", "gateway-container"})
    void shippedAllowlistPoliciesParseAndEveryRuleHasAReason(String name) {
        SandboxPolicy p = SandboxPolicy.named(name);
        assertEquals(name, p.name());
        assertEquals(Errno.EPERM, p.defaultErrno());
        assertTrue(p.rules().size() > 60, "a JVM needs a few dozen syscalls: " + p.rules().size());
        p.rules().forEach(r -> assertFalse(r.reason().isBlank(), r.name()));
        p.startupRules().forEach(r -> assertFalse(r.reason().isBlank(), r.name()));
        assertTrue(p.keepCapabilities().isEmpty());
        assertEquals(0, p.rlimits().stream().filter(r -> r.resource() == ResourceLimit.CORE).findFirst().orElseThrow().hard());
    }

    @Test
    void workerIsolatesEverythingAndDeniesSocketsAndExec() {
        SandboxPolicy w = SandboxPolicy.named("worker");
        assertEquals(java.util.EnumSet.allOf(Namespace.class), java.util.EnumSet.copyOf(w.namespaces()));
        for (String s : List.of("socket", "connect", "bind", "listen", "execve", "ptrace", "unshare", "setns", "bpf")) {
            List<SandboxPolicy.SyscallRule> rules = w.rulesFor(s);
            assertEquals(1, rules.size(), s);
            assertEquals(Action.ERRNO, rules.getFirst().action(), s);
            assertEquals(Errno.EPERM, rules.getFirst().errno(), s);
        }
        assertEquals(Errno.ENOSYS, w.rulesFor("clone3").getFirst().errno());
        SandboxPolicy.ArgCondition clone = w.rulesFor("clone").getFirst().conditions().getFirst();
        assertEquals(new SandboxPolicy.ArgCondition(0, Op.MASKED_EQ, 0x7E030000L, 0x10000L), clone);
    }

    @Test
    void anIncludingFilesRulesReplaceTheIncludedOnesForThatSyscall() {
        SandboxPolicy b = SandboxPolicy.named("broker");
        assertEquals(1, b.rulesFor("openat").size());
        assertEquals(new SandboxPolicy.ArgCondition(2, Op.MASKED_EQ, 0x200, 0), b.rulesFor("openat").getFirst().conditions().getFirst());
        SandboxPolicy g = SandboxPolicy.named("gateway-container");
        assertEquals(new SandboxPolicy.ArgCondition(0, Op.EQ, 1, 0), g.rulesFor("socket").getFirst().conditions().getFirst());
        assertEquals(Action.ERRNO, g.rulesFor("execve").getFirst().action(), "rules it does not name stay as included");
    }

    @Test
    void hostGatewayIsADenylistSoItsChildrenCanBuildTheirBoxes() {
        SandboxPolicy g = SandboxPolicy.named("gateway");
        assertTrue(g.defaultAllows());
        assertTrue(g.namespaces().isEmpty(), "the gateway is the launcher, not launched");
        assertTrue(g.rules().stream().allMatch(r -> r.action() == Action.ERRNO), "only denials in a denylist");
        assertEquals(3, g.rulesFor("socket").size(), "AF_INET, AF_INET6, AF_PACKET");
        assertTrue(g.rulesFor("mount").isEmpty() && g.rulesFor("clone").isEmpty(), "bwrap needs them in the children");
    }

    @Test
    void errorsNameTheLine() {
        IllegalArgumentException noReason = assertThrows(IllegalArgumentException.class,
                () -> SandboxPolicy.parse("name x\nallow read\n"));
        assertTrue(noReason.getMessage().contains("line 2"), noReason.getMessage());
        assertTrue(noReason.getMessage().contains("reason"), noReason.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> SandboxPolicy.parse("allow frobnicate # no such call\n"));
        assertTrue(unknown.getMessage().contains("frobnicate"), unknown.getMessage());
        IllegalArgumentException badErrno = assertThrows(IllegalArgumentException.class,
                () -> SandboxPolicy.parse("seccomp default EWHATEVER\n"));
        assertTrue(badErrno.getMessage().contains("EWHATEVER"), badErrno.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SandboxPolicy.named("nope"));
    }
}
