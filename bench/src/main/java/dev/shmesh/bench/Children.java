package dev.shmesh.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Starts a child JVM running {@code main} of this jar, with the flags every shmesh JVM uses. */
final class Children {
    private Children() {}

    static ProcessBuilder builder(Class<?> main, String... args) {
        List<String> command = new ArrayList<>();
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

    static Process start(Class<?> main, String... args) throws IOException {
        return builder(main, args).inheritIO().start();
    }
}
