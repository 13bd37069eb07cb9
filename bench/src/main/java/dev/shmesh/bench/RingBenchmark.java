package dev.shmesh.bench;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * In-process throughput, one producer thread and one consumer thread on a ring in a {@code /dev/shm} mapping.
 * Read the {@code received} secondary result: messages per second that made it through. {@code sent} equals it
 * up to the ring's depth; {@code full} counts offers refused by back pressure.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Group)
public class RingBenchmark extends RingFixture {

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Producer {
        public long sent;
        public long full;

        @Setup(Level.Iteration)
        public void reset() {
            sent = 0;
            full = 0;
        }
    }

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Consumer {
        public long received;

        @Setup(Level.Iteration)
        public void reset() {
            received = 0;
        }
    }

    @Benchmark
    @Group("oneToOne")
    @GroupThreads(1)
    public void offer(Producer p) {
        if (ring.offer(p.sent, size)) {
            p.sent++;
        } else {
            p.full++;
        }
    }

    @Benchmark
    @Group("oneToOne")
    @GroupThreads(1)
    public void poll(Consumer c) {
        c.received += ring.poll(256);
    }
}
