package dev.shmesh.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Cross-process throughput: N producer JVMs offer as fast as they can into one ring in {@code /dev/shm}; this
 * JVM consumes (busy spin) and times the last 80% of the messages (the first 20% are JIT warm-up).
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.shmesh.bench.CrossProcessThroughput IMPL SIZE MESSAGES [PRODUCERS]</pre>
 */
public final class CrossProcessThroughput {
    /** onSpinWait() calls after an empty poll (-Dbench.emptySpins, default 1). */
    private static final int EMPTY_SPINS = Integer.getInteger("bench.emptySpins", 1);

    private CrossProcessThroughput() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("produce")) {
            produce(args[1], Path.of(args[2]), Integer.parseInt(args[3]), Long.parseLong(args[4]));
            return;
        }
        String impl = args[0];
        int size = Integer.parseInt(args[1]);
        long messages = Long.parseLong(args[2]);
        int producers = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        Path path = BenchRing.tempPath(impl);
        List<Process> children = new ArrayList<>();
        try (BenchRing ring = BenchRing.create(impl, path, size)) {
            for (int p = 0; p < producers; p++) {
                children.add(Children.start(CrossProcessThroughput.class, "produce", impl, path.toString(),
                        Integer.toString(size), Long.toString(messages / producers)));
            }
            long total = (messages / producers) * producers;
            long warm = total / 5;
            long received = 0;
            long start = 0;
            long polls = 0;
            long emptyPolls = 0;
            while (received < total) {
                polls++;
                int n = ring.poll(1024);
                if (n < 0) {
                    throw new IllegalStateException("poll returned " + n);
                }
                received += n;
                if (start == 0 && received >= warm) {
                    start = System.nanoTime();
                    warm = received;
                }
                if (n == 0) {
                    emptyPolls++;
                    for (int i = 0; i < EMPTY_SPINS; i++) {
                        Thread.onSpinWait();
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = (total - warm) / seconds;
            System.out.printf(Locale.ROOT,
                    "%s size=%d producers=%d: %.2f M msgs/s, %.0f MB/s (%d msgs timed; %.1f msgs per poll, %.0f%% empty)%n",
                    impl, size, producers, rate / 1e6, rate * size / 1e6, total - warm, (double) total / polls,
                    100.0 * emptyPolls / polls);
            for (Process p : children) {
                p.waitFor(30, TimeUnit.SECONDS);
            }
        } finally {
            children.forEach(Process::destroyForcibly);
            BenchRing.delete(path);
        }
    }

    private static void produce(String impl, Path path, int size, long count) throws Exception {
        try (BenchRing ring = BenchRing.open(impl, path, size)) {
            for (long i = 0; i < count; i++) {
                while (!ring.offer(i, size)) {
                    Thread.onSpinWait();
                }
            }
        }
    }
}
