package dev.shmesh.sandbox;

import dev.shmesh.linux.RawSyscall;
import dev.shmesh.linux.SyscallTable;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the host-mode gateway: arms the {@code gateway} policy, tries to open sockets, then spawns the
 * command given as arguments (a worker box) and relays its output with a {@code child } prefix.
 */
public final class GatewaySpawnProbe {
    private GatewaySpawnProbe() {}

    public static void main(String[] args) throws Exception {
        try {
            SandboxReport r = Sandbox.armSeccomp(SandboxPolicy.named("gateway"));
            System.out.println("gateway_report " + r.toJson());
            for (int family : new int[] {2, 10, 1}) {
                RawSyscall.Outcome o = RawSyscall.invoke(SyscallTable.require("socket"), family, 1 | 0x80000, 0);
                System.out.println("gateway_socket_" + family + " " + (o.succeeded() ? "ok -" : o.toString()));
                if (o.succeeded()) {
                    RawSyscall.invoke(SyscallTable.require("close"), o.value());
                }
            }
            ProcessBuilder pb = new ProcessBuilder(List.of(args)).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().clear();
            Process p = pb.start();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    System.out.println("child " + line);
                }
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            System.out.println("gateway_child_exit " + p.exitValue());
            System.out.println("done");
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(2);
        }
    }
}
