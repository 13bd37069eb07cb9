package dev.shmesh.sandbox;

import dev.shmesh.linux.Seccomp;
import dev.shmesh.linux.SyscallTable;
import dev.shmesh.sandbox.SandboxPolicy.Action;
import dev.shmesh.sandbox.SandboxPolicy.ArgCondition;
import dev.shmesh.sandbox.SandboxPolicy.SyscallRule;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A classic-BPF seccomp program compiled from a {@link SandboxPolicy}, without libseccomp.
 *
 * <p>Layout, checked in this order for every system call:
 * <ol>
 *   <li>{@code seccomp_data.arch != AUDIT_ARCH_X86_64} → {@code SECCOMP_RET_KILL_PROCESS} (a foreign ABI,
 *       e.g. {@code int 0x80} i386 numbers, would be misread by every rule below);
 *   <li>{@code nr >= 0x40000000} (the x32 ABI shares the x86_64 arch value) → errno EPERM;
 *   <li>one block per listed syscall, in number order: {@code jeq nr} then its rules; a rule with argument
 *       conditions compares 64-bit arguments as two 32-bit words (high word first), as libseccomp does;
 *       when no rule of the block matches, the default action;
 *   <li>everything else → {@code SECCOMP_RET_ERRNO | defaultErrno}, or {@code SECCOMP_RET_ALLOW} for a
 *       denylist policy ({@code seccomp default allow}).
 * </ol>
 * Immutable; thread-safe. {@link #evaluate} runs the program in a small interpreter so tests can check the
 * semantics without loading it.
 */
final class SeccompFilter {
    // classic BPF opcodes (linux/bpf_common.h)
    private static final int LD_W_ABS = 0x20;
    private static final int JEQ_K = 0x15;
    private static final int JGE_K = 0x35;
    private static final int AND_K = 0x54;
    private static final int RET_K = 0x06;

    // struct seccomp_data offsets
    private static final int OFF_NR = 0;
    private static final int OFF_ARCH = 4;
    private static final int OFF_ARGS = 16;

    private static final int FAIL = -1; // placeholder: jump to the next rule of the block

    private final String policyName;
    private final int[][] insns; // {code, jt, jf, k}

    private SeccompFilter(String policyName, List<int[]> insns) {
        this.policyName = policyName;
        this.insns = insns.toArray(new int[0][]);
    }

    /** Compiles the seccomp part of {@code policy}. */
    static SeccompFilter compile(SandboxPolicy policy) {
        int deny = policy.defaultAllows() ? Seccomp.RET_ALLOW : Seccomp.RET_ERRNO | policy.defaultErrno();
        List<int[]> out = new ArrayList<>();
        out.add(insn(LD_W_ABS, 0, 0, OFF_ARCH));
        out.add(insn(JEQ_K, 1, 0, SyscallTable.AUDIT_ARCH_X86_64));
        out.add(insn(RET_K, 0, 0, Seccomp.RET_KILL_PROCESS));
        out.add(insn(LD_W_ABS, 0, 0, OFF_NR));
        out.add(insn(JGE_K, 0, 1, SyscallTable.X32_SYSCALL_BIT));
        out.add(insn(RET_K, 0, 0, Seccomp.RET_ERRNO | dev.shmesh.linux.Errno.EPERM));

        Map<Integer, List<SyscallRule>> byNr = new TreeMap<>();
        for (SyscallRule r : policy.rules()) {
            byNr.computeIfAbsent(SyscallTable.require(r.name()), k -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<Integer, List<SyscallRule>> e : byNr.entrySet()) {
            List<int[]> block = new ArrayList<>();
            boolean unconditional = false;
            for (SyscallRule r : e.getValue()) {
                block.addAll(rule(r));
                if (r.conditions().isEmpty()) {
                    unconditional = true;
                    break; // later rules could never be reached
                }
            }
            if (!unconditional) {
                block.add(insn(RET_K, 0, 0, deny));
            }
            if (block.size() > 255) {
                throw new IllegalArgumentException("syscall=" + e.getValue().getFirst().name() + " has too many rules for one BPF jump");
            }
            // the accumulator still holds nr here: every block ends with a return
            out.add(insn(JEQ_K, 0, block.size(), e.getKey()));
            out.addAll(block);
        }
        out.add(insn(RET_K, 0, 0, deny));
        if (out.size() > 4096) {
            throw new IllegalArgumentException("policy=" + policy.name() + " compiles to " + out.size() + " instructions (limit 4096)");
        }
        return new SeccompFilter(policy.name(), out);
    }

    private static List<int[]> rule(SyscallRule r) {
        List<int[]> code = new ArrayList<>();
        for (ArgCondition c : r.conditions()) {
            int lo = OFF_ARGS + 8 * c.index();
            int hi = lo + 4;
            switch (c.op()) {
                case EQ -> {
                    code.add(insn(LD_W_ABS, 0, 0, hi));
                    code.add(insn(JEQ_K, 0, FAIL, (int) (c.value() >>> 32)));
                    code.add(insn(LD_W_ABS, 0, 0, lo));
                    code.add(insn(JEQ_K, 0, FAIL, (int) c.value()));
                }
                case NE -> {
                    code.add(insn(LD_W_ABS, 0, 0, hi));
                    code.add(insn(JEQ_K, 0, 2, (int) (c.value() >>> 32))); // high words differ: condition holds
                    code.add(insn(LD_W_ABS, 0, 0, lo));
                    code.add(insn(JEQ_K, FAIL, 0, (int) c.value()));
                }
                case MASKED_EQ -> {
                    int maskHi = (int) (c.value() >>> 32);
                    int wantHi = (int) (c.valueTwo() >>> 32);
                    if (maskHi != 0 || wantHi != 0) {
                        code.add(insn(LD_W_ABS, 0, 0, hi));
                        code.add(insn(AND_K, 0, 0, maskHi));
                        code.add(insn(JEQ_K, 0, FAIL, wantHi));
                    }
                    code.add(insn(LD_W_ABS, 0, 0, lo));
                    if ((int) c.value() != -1) {
                        code.add(insn(AND_K, 0, 0, (int) c.value()));
                    }
                    code.add(insn(JEQ_K, 0, FAIL, (int) c.valueTwo()));
                }
            }
        }
        code.add(insn(RET_K, 0, 0, r.action() == Action.ALLOW ? Seccomp.RET_ALLOW : Seccomp.RET_ERRNO | r.errno()));
        int end = code.size();
        for (int i = 0; i < code.size(); i++) {
            int[] in = code.get(i);
            if (in[1] == FAIL) {
                in[1] = end - (i + 1);
            }
            if (in[2] == FAIL) {
                in[2] = end - (i + 1);
            }
        }
        return code;
    }

    private static int[] insn(int code, int jt, int jf, int k) {
        return new int[] {code, jt, jf, k};
    }

    /** The policy this filter came from. */
    String policyName() {
        return policyName;
    }

    /** Number of BPF instructions. */
    int length() {
        return insns.length;
    }

    /** The program as {@code struct sock_filter[]} in native (little-endian) byte order, for {@code seccomp(2)}. */
    byte[] program() {
        ByteBuffer b = ByteBuffer.allocate(insns.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] in : insns) {
            b.putShort((short) in[0]).put((byte) in[1]).put((byte) in[2]).putInt(in[3]);
        }
        return b.array();
    }

    /**
     * Runs the program on one {@code seccomp_data} and returns the SECCOMP_RET_* value, as the kernel would.
     * Only the opcodes this compiler emits are interpreted.
     */
    int evaluate(int arch, int nr, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(OFF_NR, nr).putInt(OFF_ARCH, arch);
        for (int i = 0; i < args.length; i++) {
            data.putLong(OFF_ARGS + 8 * i, args[i]);
        }
        int a = 0;
        int pc = 0;
        while (true) {
            int[] in = insns[pc];
            switch (in[0]) {
                case LD_W_ABS -> a = data.getInt(in[3]);
                case AND_K -> a &= in[3];
                case JEQ_K -> pc += a == in[3] ? in[1] : in[2];
                case JGE_K -> pc += Integer.compareUnsigned(a, in[3]) >= 0 ? in[1] : in[2];
                case RET_K -> {
                    return in[3];
                }
                default -> throw new IllegalStateException("opcode=" + in[0]);
            }
            pc++;
        }
    }

    /** A disassembly, one instruction a line, for debugging a policy. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SeccompFilter[" + policyName + ", " + insns.length + " insns]\n");
        for (int i = 0; i < insns.length; i++) {
            int[] in = insns[i];
            sb.append(String.format("%4d: code=0x%02x jt=%d jf=%d k=0x%08x%n", i, in[0], in[1], in[2], in[3]));
        }
        return sb.toString();
    }
}
