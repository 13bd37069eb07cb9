package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The one-time spawn tokens never appear where other processes can read them: no command line (world-readable in
 * /proc/PID/cmdline, bwrap's included) and no environment of any process of the mesh holds one.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TokenExposureTest {
    /** A spawn token: 32 random bytes as hex. */
    private static final Pattern TOKEN = Pattern.compile("[0-9a-f]{64}");

    @Test
    void noCommandLineOrEnvironmentOfTheMeshHoldsASpawnToken() throws Exception {
        try (Mesh mesh = Mesh.start(2).awaitReady(2)) {
            List<ProcessHandle> processes = new ArrayList<>(mesh.knownProcesses());
            mesh.gateway.toHandle().descendants().forEach(processes::add);
            assertTrue(processes.size() >= 9, "gateway, and bwrap + JVM of broker, 2 edges, a compute: " + processes);
            int read = 0;
            for (ProcessHandle p : processes) {
                for (String file : List.of("cmdline", "environ")) {
                    String text;
                    try {
                        text = Files.readString(Path.of("/proc", Long.toString(p.pid()), file), StandardCharsets.ISO_8859_1);
                    } catch (NoSuchFileException gone) {
                        continue;
                    } catch (IOException e) {
                        throw new AssertionError("cannot read /proc/" + p.pid() + "/" + file, e);
                    }
                    read++;
                    String shown = text.replace('\0', ' ');
                    assertFalse(TOKEN.matcher(text).find(), "a token in /proc/" + p.pid() + "/" + file + ": " + shown);
                    assertFalse(text.contains("SHMESH_TOKEN="), "/proc/" + p.pid() + "/" + file + ": " + shown);
                }
            }
            assertTrue(read >= 2 * 9, "read " + read + " files");
        }
    }
}
