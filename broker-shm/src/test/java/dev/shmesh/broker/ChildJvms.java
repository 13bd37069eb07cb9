package dev.shmesh.broker;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link RingChild} JVMs for the cross-process tests, on the test's own JDK and classpath. {@link #close()} (from
 * an {@code @AfterEach}) SIGKILLs and reaps every one still running.
 */
final class ChildJvms implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();

    /** A child running {@code RingChild args...}, its output and errors on the test's. */
    Process start(String... args) throws IOException {
        return track(builder(args).inheritIO().start());
    }

    /** A child whose standard output the test reads (errors on the test's). */
    Process startPiped(String... args) throws IOException {
        return track(builder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start());
    }

    List<Process> all() {
        return List.copyOf(started);
    }

    private static ProcessBuilder builder(String... args) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), RingChild.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    private Process track(Process p) {
        started.add(p);
        return p;
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        started.clear();
    }
}
