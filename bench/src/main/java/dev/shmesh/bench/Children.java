package dev.shmesh.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a child JVM running {@code main} of this jar, with the flags every shmesh JVM uses. */
final class Children {
    private Children() {}

    /**
     * A child JVM for {@code main}. With SHMESH_BENCH_CHILD_CPUS set (e.g. "0"), the child runs under
     * {@code taskset -c} on those CPUs: pin the parent elsewhere (taskset -c 1 java ...) so that producer and
     * consumer never share a vCPU, which otherwise happens by chance and swings results by 5x.
     */
    static ProcessBuilder builder(Class<?> main, String... args) {
        List<String> command = new ArrayList<>();
        String cpus = System.getenv("SHMESH_BENCH_CHILD_CPUS");
        if (cpus != null && !cpus.isBlank()) {
            command.addAll(List.of("taskset", "-c", cpus));
        }
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("--sun-misc-unsafe-memory-access=allow");
        command.add("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"); // Agrona 2.x
        command.add("-XX:+UseSerialGC");
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /**
     * A child JVM for {@code main} with the flags of an options file ({@code java @jvmOptions}, the repository's
     * {@code jvm.options}) and then {@code flags}; SHMESH_BENCH_CHILD_CPUS as in {@link #builder}.
     */
    static ProcessBuilder withOptionsFile(Path jvmOptions, List<String> flags, Class<?> main, String... args) {
        List<String> command = new ArrayList<>();
        String cpus = System.getenv("SHMESH_BENCH_CHILD_CPUS");
        if (cpus != null && !cpus.isBlank()) {
            command.addAll(List.of("taskset", "-c", cpus));
        }
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("@" + jvmOptions);
        command.addAll(flags);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    static Process start(Class<?> main, String... args) throws IOException {
        return builder(main, args).inheritIO().start();
    }
}
