package dev.shmesh.bench;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one message through a ring with no cross-core traffic: one thread offers a batch of 64 messages,
 * then polls them. Immune to how many cores the scheduler gives us; measures the code, not the cache coherence.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Thread)
public class RingOpCostBenchmark extends RingFixture {
    private static final int BATCH = 64;

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long offerThenPoll() {
        for (int i = 0; i < BATCH; i++) {
            if (!ring.offer(i, size)) {
                throw new IllegalStateException("full");
            }
        }
        int n = 0;
        while (n < BATCH) {
            n += ring.poll(BATCH);
        }
        return ring.checksum;
    }
}
