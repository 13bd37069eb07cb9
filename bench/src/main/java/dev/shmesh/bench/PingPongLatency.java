package dev.shmesh.bench;

import dev.shmesh.broker.IdleStrategy;
import dev.shmesh.broker.Ring;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Cross-process round trip of a 64-byte message between this JVM and a child JVM echo, as p50/p99/p99.9 in µs.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.shmesh.bench.PingPongLatency MODE [SAMPLES [GAP_US]]</pre>
 *
 * Modes: {@code shm-spin} (both sides busy spin on shmesh MPSC rings), {@code shm-spin-park} (spin 20 000 times,
 * then futex park: under this back-to-back load it stays in the spin phase), {@code shm-park} (futex park at
 * once: every message is a futex wake-up), {@code uds} (JDK SocketChannel over a Unix domain socket, blocking),
 * {@code pipe} (the child's stdin/stdout pipes, blocking). With {@code GAP_US > 0} this JVM sleeps that long
 * between pings, so an idle echo side has left its spin phase: the park regime of {@code shm-spin-park}.
 */
public final class PingPongLatency {
    private static final int SIZE = 64;
    private static final int SPINS = 20_000;
    private static final long MAX_PARK_NANOS = 100_000_000L;

    private static long gapNanos;

    private PingPongLatency() {}

    private static void gap() {
        if (gapNanos > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(gapNanos);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("echo")) {
            echo(args);
            return;
        }
        String mode = args[0];
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        gapNanos = args.length > 2 ? Long.parseLong(args[2]) * 1_000 : 0;
        int warmup = gapNanos > 0 ? Math.max(2_000, samples / 5) : Math.max(20_000, samples / 2);
        long[] rtt = switch (mode) {
            case "shm-spin", "shm-spin-park", "shm-park" -> shm(mode, warmup, samples);
            case "uds" -> uds(warmup, samples);
            case "pipe" -> pipe(warmup, samples);
            default -> throw new IllegalArgumentException("mode=" + mode);
        };
        Arrays.sort(rtt);
        System.out.printf(Locale.ROOT, "%-14s gap=%dus samples=%d  p50=%.2f µs  p99=%.2f µs  p99.9=%.2f µs  max=%.1f µs%n",
                mode, gapNanos / 1000, samples, pct(rtt, 0.50), pct(rtt, 0.99), pct(rtt, 0.999), rtt[rtt.length - 1] / 1e3);
    }

    private static double pct(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e3;
    }

    private static IdleStrategy idle(String mode, Ring ring) {
        return switch (mode) {
            case "shm-spin" -> IdleStrategy.spin();
            case "shm-spin-park" -> IdleStrategy.spinThenPark(ring, SPINS, MAX_PARK_NANOS);
            default -> IdleStrategy.park(ring, MAX_PARK_NANOS);
        };
    }

    private static long[] shm(String mode, int warmup, int samples) throws Exception {
        Path ping = BenchRing.tempPath("ping");
        Path pong = BenchRing.tempPath("pong");
        Process child = null;
        try (BenchRing.Shmesh out = (BenchRing.Shmesh) BenchRing.create("shmesh-mpsc", ping, SIZE);
                BenchRing.Shmesh in = (BenchRing.Shmesh) BenchRing.create("shmesh-mpsc", pong, SIZE)) {
            child = Children.start(PingPongLatency.class, "echo", mode, ping.toString(), pong.toString());
            IdleStrategy idle = idle(mode, in.ring());
            long[] rtt = new long[samples];
            for (int i = 0; i < warmup + samples; i++) {
                gap();
                long t0 = System.nanoTime();
                while (!out.offer(i, SIZE)) {
                    Thread.onSpinWait();
                }
                int n;
                while ((n = in.poll(1)) == 0) {
                    idle.idle(0);
                }
                idle.idle(n);
                long t1 = System.nanoTime();
                if (in.last != i) {
                    throw new IllegalStateException("echo " + in.last + " for " + i);
                }
                if (i >= warmup) {
                    rtt[i - warmup] = t1 - t0;
                }
            }
            out.ring().closeRing();
            child.waitFor(10, TimeUnit.SECONDS);
            return rtt;
        } finally {
            if (child != null) {
                child.destroyForcibly();
            }
            BenchRing.delete(ping);
            BenchRing.delete(pong);
        }
    }

    private static long[] uds(int warmup, int samples) throws Exception {
        Path dir = Files.createTempDirectory("shmesh-bench-uds");
        Path socket = dir.resolve("s");
        Process child = null;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            child = Children.start(PingPongLatency.class, "echo", "uds", socket.toString());
            try (SocketChannel ch = server.accept()) {
                ByteBuffer buf = ByteBuffer.allocateDirect(SIZE);
                long[] rtt = new long[samples];
                for (int i = 0; i < warmup + samples; i++) {
                    gap();
                    long t0 = System.nanoTime();
                    buf.clear();
                    buf.putLong(0, i);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    buf.clear();
                    while (buf.hasRemaining()) {
                        if (ch.read(buf) < 0) {
                            throw new IllegalStateException("echo closed");
                        }
                    }
                    long t1 = System.nanoTime();
                    if (buf.getLong(0) != i) {
                        throw new IllegalStateException("bad echo");
                    }
                    if (i >= warmup) {
                        rtt[i - warmup] = t1 - t0;
                    }
                }
                return rtt;
            }
        } finally {
            if (child != null) {
                child.destroyForcibly();
            }
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    private static long[] pipe(int warmup, int samples) throws Exception {
        Process child = Children.builder(PingPongLatency.class, "echo", "pipe")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try (OutputStream out = child.getOutputStream(); DataInputStream in = new DataInputStream(child.getInputStream())) {
            byte[] msg = new byte[SIZE];
            ByteBuffer view = ByteBuffer.wrap(msg);
            long[] rtt = new long[samples];
            for (int i = 0; i < warmup + samples; i++) {
                gap();
                long t0 = System.nanoTime();
                view.putLong(0, i);
                out.write(msg);
                out.flush();
                in.readFully(msg);
                long t1 = System.nanoTime();
                if (view.getLong(0) != i) {
                    throw new IllegalStateException("bad echo");
                }
                if (i >= warmup) {
                    rtt[i - warmup] = t1 - t0;
                }
            }
            return rtt;
        } finally {
            child.destroyForcibly();
        }
    }

    private static void echo(String[] args) throws Exception {
        switch (args[1]) {
            case "uds" -> {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(args[2]))) {
                    ByteBuffer buf = ByteBuffer.allocateDirect(SIZE);
                    while (true) {
                        buf.clear();
                        while (buf.hasRemaining()) {
                            if (ch.read(buf) < 0) {
                                return;
                            }
                        }
                        buf.flip();
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                    }
                }
            }
            case "pipe" -> {
                InputStream in = System.in;
                OutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);
                byte[] msg = new byte[SIZE];
                DataInputStream data = new DataInputStream(in);
                while (true) {
                    try {
                        data.readFully(msg);
                    } catch (java.io.EOFException e) {
                        return;
                    }
                    out.write(msg);
                }
            }
            default -> {
                try (BenchRing.Shmesh in = (BenchRing.Shmesh) BenchRing.open("shmesh-mpsc", Path.of(args[2]), SIZE);
                        BenchRing.Shmesh out = (BenchRing.Shmesh) BenchRing.open("shmesh-mpsc", Path.of(args[3]), SIZE)) {
                    IdleStrategy idle = idle(args[1], in.ring());
                    while (true) {
                        int n = in.poll(1);
                        if (n == Ring.CLOSED) {
                            return;
                        }
                        if (n > 0) {
                            while (!out.offer(in.last, SIZE)) {
                                Thread.onSpinWait();
                            }
                        }
                        idle.idle(n);
                    }
                }
            }
        }
    }
}
