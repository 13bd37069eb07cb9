package dev.shmesh.sandbox;

import dev.shmesh.linux.RawSyscall;
import dev.shmesh.sandbox.probe.EscapeProbe;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs {@link EscapeProbe} as a child JVM and collects its {@code name result errno} lines. */
final class ProbeRun {
    final String stdout;
    final String stderr;
    final int exit;
    final Map<String, String> results = new LinkedHashMap<>();
    final long wallMillis;

    private ProbeRun(String stdout, String stderr, int exit, long wallMillis) {
        this.stdout = stdout;
        this.stderr = stderr;
        this.exit = exit;
        this.wallMillis = wallMillis;
        for (String line : stdout.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0) {
                results.put(line.substring(0, sp), line.substring(sp + 1).strip());
            } else if (!line.isBlank()) {
                results.put(line.strip(), "");
            }
        }
    }

    /** The JVM command for the probe: this JVM's java, the shared jvm.options flags, the classes of sandbox and linux. */
    static List<String> javaCommand(String policy, String hostPath) {
        return javaCommand(policy, hostPath, 0);
    }

    /** As above, with a port the host listens on at 127.0.0.1 (the probe must not reach it). */
    static List<String> javaCommand(String policy, String hostPath, int hostPort) {
        List<String> cmd = new ArrayList<>(javaLauncher());
        cmd.add("-cp");
        cmd.add(String.join(":", codeSources().stream().map(Path::toString).toList()));
        cmd.add(EscapeProbe.class.getName());
        cmd.add(policy);
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        cmd.add(hostPath);
        cmd.add(Integer.toString(hostPort));
        return cmd;
    }

    /** This JVM's java and the shared jvm.options flags. */
    static List<String> javaLauncher() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions());
        return cmd;
    }

    /** Where the probe's classes and the linux bindings are (directories or jars); the box must bind them. */
    static List<Path> codeSources() {
        try {
            return List.of(
                    Path.of(EscapeProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()),
                    Path.of(RawSyscall.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> jvmOptions() {
        String file = System.getProperty("shmesh.jvm.options");
        if (file == null) {
            return List.of("--enable-native-access=ALL-UNNAMED");
        }
        try {
            return Files.readAllLines(Path.of(file)).stream()
                    .map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read jvm.options " + file, e);
        }
    }

    /** Starts {@code pb}, waits at most {@code seconds}, and always kills what is left. */
    static ProbeRun run(ProcessBuilder pb, int seconds) throws IOException, InterruptedException {
        return run(pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))), seconds, false);
    }

    /** As {@link #run(ProcessBuilder, int)}, keeping {@code pb}'s stdin redirection. */
    static ProbeRun run(ProcessBuilder pb, int seconds, boolean unused) throws IOException, InterruptedException {
        Path out = Files.createTempFile("shmesh-probe", ".out");
        Path err = Files.createTempFile("shmesh-probe", ".err");
        long t0 = System.nanoTime();
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            boolean finished = p.waitFor(seconds, TimeUnit.SECONDS);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            String o = Files.readString(out, StandardCharsets.UTF_8);
            String e = Files.readString(err, StandardCharsets.UTF_8);
            return new ProbeRun(o, e, finished ? p.exitValue() : -1, wall);
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    String describe() {
        return "exit=" + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
