package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fd-leak guard finds a leak, names it, and finds none where there is none: against a shell child whose
 * descriptors the test opens and closes (bash's {@code exec N<file}), no mesh needed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FdLeakGuardTest {
    private Process shell;
    private Writer commands;
    private BufferedReader replies;

    @BeforeEach
    void startShell() throws IOException {
        shell = new ProcessBuilder("bash", "-c", "while read -r line; do eval \"$line\"; echo ok; done")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        commands = new OutputStreamWriter(shell.getOutputStream(), StandardCharsets.UTF_8);
        replies = new BufferedReader(new InputStreamReader(shell.getInputStream(), StandardCharsets.UTF_8));
    }

    @AfterEach
    void stopShell() throws InterruptedException {
        shell.destroyForcibly();
        shell.waitFor(10, TimeUnit.SECONDS);
    }

    /** Runs {@code command} in the shell and waits until it has (the shell answers "ok" after each). */
    private void run(String command) throws IOException {
        commands.write(command + "\n");
        commands.flush();
        assertEquals("ok", replies.readLine(), command);
    }

    private Map<String, FdLeakGuard.Baseline> baseline() {
        return FdLeakGuard.snapshot(Map.of("shell", shell.pid()));
    }

    @Test
    void aFileLeftOpenIsReportedWithItsNumberAndTarget() throws Exception {
        Map<String, FdLeakGuard.Baseline> baseline = baseline();
        run("exec 7</etc/hostname");
        List<String> leaks = FdLeakGuard.leaks(baseline, Duration.ofMillis(200));
        assertEquals(1, leaks.size(), leaks.toString());
        assertTrue(leaks.get(0).contains("shell (pid " + shell.pid() + ")"), leaks.toString());
        assertTrue(leaks.get(0).contains("7 -> /etc/hostname"), leaks.toString());
    }

    @Test
    void aDescriptorClosedAgainIsNoLeakAndTheWaitEndsAtOnce() throws Exception {
        Map<String, FdLeakGuard.Baseline> baseline = baseline();
        run("exec 7</etc/hostname");
        run("exec 7<&-");
        assertEquals(List.of(), FdLeakGuard.leaks(baseline, Duration.ofSeconds(30)));
    }

    @Test
    void anotherDescriptorOfTheSameKindReplacingOneIsNoLeakButOneMoreIs() throws Exception {
        run("exec 7</etc/hostname");
        Map<String, FdLeakGuard.Baseline> baseline = baseline();
        run("exec 7<&- 8</etc/hostname");
        assertEquals(List.of(), FdLeakGuard.leaks(baseline, Duration.ofMillis(200)), "same kind, same count");
        run("exec 9</etc/hostname");
        List<String> leaks = FdLeakGuard.leaks(baseline, Duration.ofMillis(200));
        assertEquals(1, leaks.size(), leaks.toString());
        assertTrue(leaks.get(0).contains("2 x /etc/hostname, 1 at the baseline"), leaks.toString());
    }

    @Test
    void aConnectionTheTestStillHoldsIsNotALeakOnceTheTestClosesItsEndAndThePeerDoesNotItIs() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Map<String, FdLeakGuard.Baseline> baseline = baseline();
            run("exec 5<>/dev/tcp/127.0.0.1/" + server.getLocalPort());
            Socket ours = server.accept();
            try {
                assertEquals(List.of(), FdLeakGuard.leaks(baseline, Duration.ofMillis(200)),
                        "the shell's end of a connection this JVM holds open is live, not leaked");
            } finally {
                ours.close();
            }
            // our end is closed; the shell never closes its own: a leaked connection, in CLOSE_WAIT
            List<String> leaks = FdLeakGuard.leaks(baseline, Duration.ofMillis(500));
            assertEquals(1, leaks.size(), leaks.toString());
            assertTrue(leaks.get(0).contains("5 -> socket:[") && leaks.get(0).contains("CLOSE_WAIT"), leaks.toString());
        }
    }

    @Test
    void aProcessThatExitedHasNothingToLeak() throws Exception {
        Map<String, FdLeakGuard.Baseline> baseline = baseline();
        run("exec 7</etc/hostname");
        shell.destroyForcibly();
        assertTrue(shell.waitFor(10, TimeUnit.SECONDS));
        assertEquals(List.of(), FdLeakGuard.leaks(baseline, Duration.ofMillis(200)));
    }
}
