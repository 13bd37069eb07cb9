package dev.shmesh.bench;

import dev.shmesh.grpc.shm.ShmAddress;
import dev.shmesh.grpc.shm.ShmChannelBuilder;
import dev.shmesh.grpc.shm.ShmServerBuilder;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * grpc-java calls over one transport per run, printed as tab-separated lines for {@link GrpcBenchTable}; {@code
 * bench/grpc/grpc-rounds.sh} runs every transport in interleaved rounds and prints the table.
 *
 * <pre>
 * java @jvm.options -Dshmesh.jvm.options=jvm.options -cp bench/target/benchmarks.jar \
 *      dev.shmesh.bench.GrpcTransportBench TRANSPORT [ROUND]
 * </pre>
 *
 * Transports: {@code shm} (grpc-shm, the server in a child JVM), {@code netty-tcp} (grpc-netty over 127.0.0.1,
 * child JVM), {@code netty-uds} (grpc-netty over a Unix domain socket with epoll, child JVM), {@code inproc}
 * (grpc-java's in-process transport, one JVM: the floor). Both sides use {@code directExecutor()} on every
 * transport: the service runs on the transport's thread, and so does the client's callback, which starts the
 * client's next call (a closed loop of CONCURRENCY calls in flight on one channel; a per-thread trampoline keeps
 * the in-process transport, which completes a call inside its start, from recursing). A call's latency runs from
 * before {@code newCall} to the client's {@code onCompleted}; the calling thread's own wake-up is not in it.
 *
 * <p>Cells, in this order: unary echo of 64 B / 1 KiB / 64 KiB / 1 MiB at concurrency 1, then 16; a server stream
 * of 64 KiB messages (throughput); "idle": 64-byte unary calls one at a time with a gap between them, long enough
 * for spinning connection threads to park (grpc-shm's 20 000 spins take ~0.4 ms here).
 *
 * <p>System properties: {@code bench.grpc.warmupMs} (1000) and {@code bench.grpc.measureMs} (2000) per cell,
 * {@code bench.grpc.idleSamples} (3000, after 1000 unmeasured), {@code bench.grpc.idleGapUs} (1000), {@code
 * bench.grpc.spins} (grpc-shm's spins on both sides; default the transport's), {@code bench.grpc.cells} (a regex
 * of the cell names to run; default all), {@code shmesh.jvm.options} (the options file the server JVM starts with).
 */
public final class GrpcTransportBench {
    private static final long WARMUP_MS = Long.getLong("bench.grpc.warmupMs", 1000);
    private static final long MEASURE_MS = Long.getLong("bench.grpc.measureMs", 2000);
    private static final int IDLE_SAMPLES = Integer.getInteger("bench.grpc.idleSamples", 3000);
    private static final int IDLE_WARMUP = 1000;
    private static final long IDLE_GAP_US = Long.getLong("bench.grpc.idleGapUs", 1000);
    private static final int SPINS = Integer.getInteger("bench.grpc.spins", -1);
    private static final java.util.regex.Pattern CELLS =
            java.util.regex.Pattern.compile(System.getProperty("bench.grpc.cells", ".*"));
    private static final int[] SIZES = {64, 1 << 10, 64 << 10, 1 << 20};
    private static final int STREAM_SIZE = 64 << 10;
    private static final List<String> CHILD_FLAGS = List.of("-Xms1g", "-Xmx1g");

    // held: java.util.logging keeps loggers weakly, and a collected logger forgets its level
    private static final List<Logger> QUIET = List.of(
            Logger.getLogger("io.grpc.netty.NettyServerHandler"), // "Stream closed before write": our cancel
            Logger.getLogger("io.netty.bootstrap")); // "Unknown channel option SO_KEEPALIVE" on a domain socket

    private GrpcTransportBench() {}

    public static void main(String[] args) throws Exception {
        QUIET.forEach(l -> l.setLevel(Level.SEVERE));
        if (args.length >= 3 && args[0].equals("server")) {
            serve(args[1], Path.of(args[2]));
            return;
        }
        if (args.length < 1) {
            System.err.println("usage: GrpcTransportBench shm|netty-tcp|netty-uds|inproc [ROUND]");
            System.exit(2);
        }
        run(args[0], args.length > 1 ? args[1] : "1");
    }

    // ---- the client side: this JVM ----

    private static void run(String transport, String round) throws Exception {
        Path dir = Files.createTempDirectory("shmesh-grpc-bench");
        Server inProcess = null;
        Process child = null;
        EventLoopGroup clientGroup = null;
        ManagedChannel channel = null;
        // a child must never outlive this JVM: Ctrl-C, an exception, System.exit all end up here
        Process[] started = new Process[1];
        Thread reaper = new Thread(() -> {
            if (started[0] != null) {
                started[0].destroyForcibly();
            }
        }, "grpc-bench-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            switch (transport) {
                case "inproc" -> {
                    String name = "grpc-bench-" + ProcessHandle.current().pid();
                    inProcess = InProcessServerBuilder.forName(name).directExecutor()
                            .addService(GrpcBenchService.definition()).build().start();
                    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
                }
                case "shm", "netty-tcp", "netty-uds" -> {
                    child = startServer(transport, dir);
                    started[0] = child;
                    String address = awaitReady(child, transport);
                    switch (transport) {
                        case "shm" -> {
                            ShmChannelBuilder b = ShmChannelBuilder.forAddress(new ShmAddress(Path.of(address)));
                            if (SPINS >= 0) {
                                b.spins(SPINS);
                            }
                            channel = b.directExecutor().build();
                        }
                        case "netty-tcp" -> channel = NettyChannelBuilder
                                .forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                                        Integer.parseInt(address)))
                                .usePlaintext().directExecutor().build();
                        default -> {
                            clientGroup = new EpollEventLoopGroup(1);
                            channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(address))
                                    .channelType(EpollDomainSocketChannel.class).eventLoopGroup(clientGroup)
                                    .usePlaintext().directExecutor().build();
                        }
                    }
                }
                default -> throw new IllegalArgumentException(
                        "transport=" + transport + " (shm, netty-tcp, netty-uds, inproc)");
            }
            System.err.printf(Locale.ROOT, "# %s round %s: pid %d, server %s, netty epoll available: %s%n",
                    transport, round, ProcessHandle.current().pid(), child == null ? "in this JVM" : "pid " + child.pid(),
                    Epoll.isAvailable());
            cells(channel, transport, round);
        } finally {
            if (channel != null) {
                channel.shutdownNow();
                channel.awaitTermination(5, TimeUnit.SECONDS);
            }
            if (inProcess != null) {
                inProcess.shutdownNow();
            }
            if (clientGroup != null) {
                clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            if (child != null) {
                stopServer(child);
            }
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static void cells(ManagedChannel channel, String transport, String round) throws Exception {
        // connect first: streams started while the channel connects are started later on another thread
        ClientCalls.blockingUnaryCall(channel, GrpcBenchService.UNARY, CallOptions.DEFAULT, new byte[64]);
        // get the JIT going on the sizes and shapes to come
        closedLoop(channel, 64, 16, 2 * WARMUP_MS, 0);
        closedLoop(channel, 64 << 10, 4, WARMUP_MS / 2, 0);
        for (int concurrency : new int[] {1, 16}) {
            for (int size : SIZES) {
                String cell = "unary-" + sizeName(size) + "-c" + concurrency;
                if (CELLS.matcher(cell).matches()) {
                    print(round, transport, cell, closedLoop(channel, size, concurrency, WARMUP_MS, MEASURE_MS), size);
                }
            }
        }
        String cell = "stream-" + sizeName(STREAM_SIZE);
        if (CELLS.matcher(cell).matches()) {
            print(round, transport, cell, stream(channel, STREAM_SIZE), STREAM_SIZE);
        }
        cell = "idle-64B-gap" + IDLE_GAP_US + "us";
        if (CELLS.matcher(cell).matches()) {
            print(round, transport, cell, idle(channel, 64), 64);
        }
    }

    private static String sizeName(int size) {
        return size >= 1 << 20 ? (size >> 20) + "MiB" : size >= 1 << 10 ? (size >> 10) + "KiB" : size + "B";
    }

    private record Result(Histogram latencyNanos, double perSecond, long count) {}

    private static void print(String round, String transport, String cell, Result r, int size) {
        Histogram h = r.latencyNanos();
        String lat = h == null ? "-\t-\t-" : String.format(Locale.ROOT, "%.2f\t%.2f\t%.2f",
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3);
        String rate = Double.isNaN(r.perSecond()) ? "-\t-"
                : String.format(Locale.ROOT, "%.0f\t%.1f", r.perSecond(), r.perSecond() * size / 1e6);
        System.out.printf(Locale.ROOT, "%s\t%s\t%s\t%s\t%s\t%d%n", round, transport, cell, lat, rate, r.count());
        System.out.flush();
    }

    /** Runs queued work after the current task on this thread instead of inside it: no unbounded recursion. */
    private static final class Trampoline {
        private static final ThreadLocal<ArrayDeque<Runnable>> QUEUE = new ThreadLocal<>();

        static void run(Runnable task) {
            ArrayDeque<Runnable> queue = QUEUE.get();
            if (queue != null) {
                queue.add(task);
                return;
            }
            queue = new ArrayDeque<>();
            QUEUE.set(queue);
            try {
                for (Runnable t = task; t != null; t = queue.poll()) {
                    t.run();
                }
            } finally {
                QUEUE.remove();
            }
        }
    }

    /**
     * Held while a call starts, on every transport. grpc-shm (as of da8ad9f) gives a stream its id and writes its
     * HEADERS under two different locks, so two threads starting calls at once can send ids out of order, and the
     * server then closes the whole connection ("stream id 75 after 77"): here the driver thread and a connection
     * thread do start calls at once. Uncontended once the loop runs on one thread.
     */
    private static final Object START_LOCK = new Object();

    /** CONCURRENCY unary calls in flight; each one's completion starts the next. */
    private static final class ClosedLoop {
        final ManagedChannel channel;
        final byte[] payload;
        final Recorder latency = new Recorder(3);
        final LongAdder completed = new LongAdder();
        final CountDownLatch finished;
        volatile boolean stop;
        volatile Throwable failure;

        ClosedLoop(ManagedChannel channel, byte[] payload, int concurrency) {
            this.channel = channel;
            this.payload = payload;
            this.finished = new CountDownLatch(concurrency);
        }

        void issue() {
            Trampoline.run(this::call);
        }

        private void call() {
            if (stop) {
                finished.countDown();
                return;
            }
            long t0 = System.nanoTime();
            synchronized (START_LOCK) {
                start(t0);
            }
        }

        private void start(long t0) {
            ClientCalls.asyncUnaryCall(channel.newCall(GrpcBenchService.UNARY, CallOptions.DEFAULT), payload,
                    new StreamObserver<byte[]>() {
                        @Override
                        public void onNext(byte[] response) {
                            if (response.length != payload.length) {
                                failure = new IllegalStateException(
                                        "echo of " + response.length + " bytes for " + payload.length);
                                stop = true;
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            failure = t;
                            stop = true;
                            finished.countDown();
                        }

                        @Override
                        public void onCompleted() {
                            latency.recordValue(System.nanoTime() - t0);
                            completed.increment();
                            issue();
                        }
                    });
        }
    }

    private static Result closedLoop(ManagedChannel channel, int size, int concurrency, long warmupMs, long measureMs)
            throws Exception {
        ClosedLoop loop = new ClosedLoop(channel, new byte[size], concurrency);
        // the in-process transport runs the whole loop inside the first start: give it its own thread
        Thread driver = Thread.ofPlatform().name("grpc-bench-driver").start(() -> Trampoline.run(() -> {
            for (int i = 0; i < concurrency; i++) {
                loop.issue();
            }
        }));
        Thread.sleep(warmupMs);
        loop.latency.getIntervalHistogram();
        long c0 = loop.completed.sum();
        long t0 = System.nanoTime();
        Thread.sleep(measureMs);
        Histogram h = loop.latency.getIntervalHistogram();
        long c1 = loop.completed.sum();
        long t1 = System.nanoTime();
        loop.stop = true;
        if (!loop.finished.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("calls of " + size + " bytes did not finish within 60 s of the stop");
        }
        driver.join();
        if (loop.failure != null) {
            throw new IllegalStateException("unary " + size + " B c" + concurrency + " failed", loop.failure);
        }
        return new Result(h, (c1 - c0) * 1e9 / (t1 - t0), c1 - c0);
    }

    private static Result stream(ManagedChannel channel, int size) throws Exception {
        LongAdder received = new LongAdder();
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicBoolean stop = new AtomicBoolean();
        ClientResponseObserver<byte[], byte[]> observer = new ClientResponseObserver<>() {
            private ClientCallStreamObserver<byte[]> call;
            private volatile boolean stopping;

            @Override
            public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
                call = requestStream;
            }

            @Override
            public void onNext(byte[] message) {
                if (message.length != size) {
                    done.completeExceptionally(new IllegalStateException(message.length + " bytes, not " + size));
                }
                received.increment();
                if (stop.get() && !stopping) {
                    stopping = true;
                    call.cancel("benchmark done", null); // from the call's own callback: ClientCall is not thread-safe
                }
            }

            @Override
            public void onError(Throwable t) {
                if (stopping && Status.fromThrowable(t).getCode() == Status.Code.CANCELLED) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(t);
                }
            }

            @Override
            public void onCompleted() {
                done.completeExceptionally(new IllegalStateException("the server ended the stream"));
            }
        };
        Thread driver = Thread.ofPlatform().name("grpc-bench-driver").start(() -> ClientCalls.asyncServerStreamingCall(
                channel.newCall(GrpcBenchService.STREAM, CallOptions.DEFAULT), GrpcBenchService.streamRequest(size),
                observer));
        Thread.sleep(WARMUP_MS);
        long n0 = received.sum();
        long t0 = System.nanoTime();
        Thread.sleep(MEASURE_MS);
        long n1 = received.sum();
        long t1 = System.nanoTime();
        stop.set(true);
        done.get(60, TimeUnit.SECONDS);
        driver.join();
        return new Result(null, (n1 - n0) * 1e9 / (t1 - t0), n1 - n0);
    }

    private static Result idle(ManagedChannel channel, int size) throws Exception {
        byte[] payload = new byte[size];
        Histogram h = new Histogram(3);
        long[] end = new long[1];
        for (int i = 0; i < IDLE_WARMUP + IDLE_SAMPLES; i++) {
            LockSupport.parkNanos(IDLE_GAP_US * 1000);
            CompletableFuture<Void> done = new CompletableFuture<>();
            long t0 = System.nanoTime();
            ClientCalls.asyncUnaryCall(channel.newCall(GrpcBenchService.UNARY, CallOptions.DEFAULT), payload,
                    new StreamObserver<byte[]>() {
                        @Override
                        public void onNext(byte[] response) {}

                        @Override
                        public void onError(Throwable t) {
                            done.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            end[0] = System.nanoTime();
                            done.complete(null);
                        }
                    });
            done.get(10, TimeUnit.SECONDS); // happens-after the write of end[0]
            if (i >= IDLE_WARMUP) {
                h.recordValue(end[0] - t0);
            }
        }
        return new Result(h, Double.NaN, IDLE_SAMPLES);
    }

    // ---- the server side: a child JVM ----

    private static Process startServer(String transport, Path dir) throws IOException {
        String options = System.getProperty("shmesh.jvm.options", "jvm.options");
        if (!Files.isRegularFile(Path.of(options))) {
            throw new IllegalStateException("shmesh.jvm.options=" + options + " is not a file: run from the repository"
                    + " root or pass -Dshmesh.jvm.options=/path/to/jvm.options");
        }
        List<String> flags = new ArrayList<>(CHILD_FLAGS);
        if (SPINS >= 0) {
            flags.add("-Dbench.grpc.spins=" + SPINS);
        }
        return Children.withOptionsFile(Path.of(options), flags, GrpcTransportBench.class, "server", transport,
                        dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /** The server's address from its "READY address" line; its later output goes to our stderr. */
    private static String awaitReady(Process child, String transport) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("grpc-bench-server-out").start(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    if (!ready.isDone() && line.startsWith("READY ")) {
                        ready.complete(line.substring(6));
                    } else {
                        System.err.println("server: " + line);
                    }
                }
                ready.completeExceptionally(new IllegalStateException(
                        "the " + transport + " server exited with " + child.waitFor() + " before it was ready"));
            } catch (IOException | InterruptedException e) {
                ready.completeExceptionally(e);
            }
        });
        return ready.get(60, TimeUnit.SECONDS);
    }

    /** Closes the server's stdin (it shuts down on EOF), then kills it if it has not exited within 5 s. */
    private static void stopServer(Process child) throws InterruptedException {
        try {
            child.getOutputStream().close();
        } catch (IOException e) {
            // it is gone already
        }
        if (!child.waitFor(5, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            child.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static void serve(String transport, Path dir) throws Exception {
        EventLoopGroup boss = null;
        EventLoopGroup worker = null;
        Server server;
        String address;
        switch (transport) {
            case "shm" -> {
                Path socket = dir.resolve("shm.sock");
                ShmServerBuilder b = ShmServerBuilder.forPath(socket);
                if (SPINS >= 0) {
                    b.spins(SPINS);
                }
                server = b.directExecutor().addService(GrpcBenchService.definition()).build().start();
                address = socket.toString();
            }
            case "netty-tcp" -> {
                server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                        .directExecutor().addService(GrpcBenchService.definition()).build().start();
                address = Integer.toString(server.getPort());
            }
            case "netty-uds" -> {
                Path socket = dir.resolve("uds.sock");
                boss = new EpollEventLoopGroup(1);
                worker = new EpollEventLoopGroup(1);
                server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                        .channelType(EpollServerDomainSocketChannel.class)
                        .bossEventLoopGroup(boss).workerEventLoopGroup(worker)
                        .directExecutor().addService(GrpcBenchService.definition()).build().start();
                address = socket.toString();
            }
            default -> throw new IllegalArgumentException("transport=" + transport);
        }
        System.out.println("READY " + address);
        System.out.flush();
        // the parent closes our stdin when it is done, or the kernel does when it dies
        while (System.in.read() >= 0) {
            // nothing is sent on stdin
        }
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
        if (boss != null) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            worker.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        System.exit(0);
    }
}
