package dev.shmesh.grpc.shm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Child JVMs for the cross-process tests, on the test's JDK and classpath with the project's {@code jvm.options}.
 * {@link #close()} SIGKILLs and reaps every one still running.
 */
final class Children implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();

    /** Starts {@code main} with {@code args} and waits (at most 30 s) for it to print {@code readyLine}. */
    Process start(Class<?> main, String readyLine, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "@" + Path.of(System.getProperty("shmesh.jvm.options")).toAbsolutePath(), "-Xmx96m",
                "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        started.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.equals(readyLine)) {
                        return true;
                    }
                }
                return false;
            } catch (IOException e) {
                return false;
            }
        });
        try {
            if (!ready.get(30, TimeUnit.SECONDS)) {
                throw new IOException(main.getSimpleName() + " exited before printing " + readyLine);
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException(main.getSimpleName() + " did not print " + readyLine + " within 30 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
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
