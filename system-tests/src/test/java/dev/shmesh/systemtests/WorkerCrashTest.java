package dev.shmesh.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A worker that dies is restarted; while it is down the listener keeps accepting. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class WorkerCrashTest {

    @Test
    void sigkillOfAWorkerUnderLoadRefusesNoConnectionAndTheSupervisorRestartsIt() throws Exception {
        try (Mesh mesh = Mesh.start(2).awaitReady(2)) {
            JsonNode before = mesh.status();
            long victim = mesh.worker(before, "worker-1").get("pid").asLong();

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger byWorker1 = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger otherErrors = new AtomicInteger();
            Thread client = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        if (request(mesh.port).equals("worker-1")) {
                            byWorker1.incrementAndGet();
                        }
                        ok.incrementAndGet();
                    } catch (ConnectException e) {
                        refused.incrementAndGet();
                    } catch (IOException e) {
                        // a connection the dying worker had accepted and not answered
                        otherErrors.incrementAndGet();
                    }
                }
            });
            try {
                Mesh.await("the load flowing through both workers", () -> ok.get() >= 20 && byWorker1.get() > 0,
                        Duration.ofSeconds(30));
                int okBeforeKill = ok.get();
                ProcessHandle.of(victim).orElseThrow().destroyForcibly(); // SIGKILL
                JsonNode after = mesh.awaitStatus("worker-1 restarted and ready",
                        s -> mesh.worker(s, "worker-1").get("restarts").asInt() == 1
                                && mesh.worker(s, "worker-1").get("state").asText().equals("ready"),
                        Duration.ofSeconds(60));
                // the old worker-1 is dead: an answer from worker-1 from now on comes from the new one
                int byWorker1AtRestart = byWorker1.get();
                Mesh.await("an answer from the restarted worker-1", () -> byWorker1.get() > byWorker1AtRestart,
                        Duration.ofSeconds(30));
                running.set(false);
                client.join(15_000);

                JsonNode restarted = mesh.worker(after, "worker-1");
                assertNotEquals(victim, restarted.get("pid").asLong(), "a new process fills the slot");
                assertEquals(0, mesh.worker(after, "worker-2").get("restarts").asInt());
                assertEquals(0, refused.get(), "connections refused while worker-1 was down");
                assertTrue(ok.get() > okBeforeKill + 10, "requests kept succeeding: " + ok.get());
                assertTrue(otherErrors.get() <= 20, "in-flight requests lost with the killed worker: " + otherErrors.get());
                System.out.printf("crash test: %d ok, %d refused, %d lost in flight%n", ok.get(), refused.get(),
                        otherErrors.get());
            } finally {
                running.set(false);
                client.join(15_000);
            }
        }
    }

    @Test
    void aWorkerThatStopsSendingHeartbeatsIsKilledAndReplaced() throws Exception {
        try (Mesh mesh = Mesh.start(2, "-Dshmesh.control.heartbeat-timeout=2s").awaitReady(2)) {
            long frozen = mesh.worker(mesh.status(), "worker-2").get("pid").asLong();
            Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(frozen)).start();
            assertEquals(0, stop.waitFor());
            JsonNode after = mesh.awaitStatus("worker-2 replaced",
                    s -> mesh.worker(s, "worker-2").get("restarts").asInt() == 1
                            && mesh.worker(s, "worker-2").get("state").asText().equals("ready"),
                    Duration.ofSeconds(60));
            assertNotEquals(frozen, mesh.worker(after, "worker-2").get("pid").asLong());
            assertTrue(ProcessHandle.of(frozen).map(h -> !h.isAlive()).orElse(true), "the frozen worker was killed");
        }
    }

    @Test
    void aWorkerThatCannotStartEndsInAReportedCrashLoopNotAnEndlessOne() throws Exception {
        try (Mesh mesh = Mesh.start(1,
                "-Dshmesh.broker.enabled=false", // one slot to watch
                "-Dshmesh.worker.jvm-args=-XX:+ShmeshNoSuchJvmFlag",
                "-Dshmesh.worker.crash-loop-limit=2",
                "-Dshmesh.worker.restart-backoff=50ms")) {
            JsonNode status = mesh.awaitStatus("crash-loop", s -> Mesh.countState(s, "crash-loop") == 1,
                    Duration.ofSeconds(60));
            JsonNode w = mesh.worker(status, "worker-1");
            assertEquals(2, w.get("restarts").asInt(), w.toString());
            assertTrue(w.get("lastExit").asText().startsWith("exit code"), w.toString());
            // crash-loop is terminal: the supervisor restarts a worker only from backoff, and its last process is
            // gone; what is left down stays down (no sleep-and-recount: nothing could tell "not yet" from "never")
            assertTrue(w.get("pid").isNull() || ProcessHandle.of(w.get("pid").asLong()).map(p -> !p.isAlive()).orElse(true),
                    "nothing of worker-1 runs: " + w);
            assertEquals(503, mesh.get(mesh.adminPort, "/health/ready").statusCode());
            assertTrue(mesh.logTail().contains("leaving it down"), mesh.logTail());
        }
    }

    /** One GET on a new connection; the id of the worker that answered. */
    private static String request(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /v1/echo?msg=load HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!response.startsWith("HTTP/1.1 200")) {
                throw new IOException("unexpected response: " + response);
            }
            return Mesh.JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4)).get("worker").asText();
        }
    }
}
