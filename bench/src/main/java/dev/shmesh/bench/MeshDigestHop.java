package dev.shmesh.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What a hop behind the edge costs: gRPC {@code Demo/Echo} (answered by the edge) against a call the edge passes on
 * over gRPC on shared memory — {@code Demo/Digest} (the edge calls a compute worker; the default) or any unary method
 * taking a message with one bytes/string field 1, e.g. {@code shmesh.example.v1.Ledger/Record} (the edge forwards it
 * to a service of a mesh file) — through a running mesh, one call at a time (c1), 64 B payloads, interleaved rounds.
 * Prints p50 / mean / p99 in µs per round and the difference.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.shmesh.bench.MeshDigestHop HOST:PORT [rounds] [calls] [full method]</pre>
 * (bench/grpc/digest-hop.sh and bench/grpc/service-hop.sh start the mesh and run this.)
 */
public final class MeshDigestHop {
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private MeshDigestHop() {}

    private static MethodDescriptor<byte[], byte[]> method(String fullName) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(fullName).setRequestMarshaller(BYTES)
                .setResponseMarshaller(BYTES).build();
    }

    public static void main(String[] args) throws Exception {
        String[] hostPort = args[0].split(":");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
        byte[] payload = new byte[64];
        // EchoRequest{payload = 1}, DigestRequest{data = 1}, Entry{text = 1}: the same bytes on the wire, field 1, 64
        // bytes (zero bytes are valid UTF-8 for a string)
        byte[] request = new byte[2 + payload.length];
        request[0] = 0x0A;
        request[1] = (byte) payload.length;
        MethodDescriptor<byte[], byte[]> echo = method("shmesh.demo.v1.Demo/Echo");
        MethodDescriptor<byte[], byte[]> digest = method(args.length > 3 ? args[3] : "shmesh.demo.v1.Demo/Digest");
        String name = digest.getBareMethodName();
        ManagedChannel ch = NettyChannelBuilder.forAddress(hostPort[0], Integer.parseInt(hostPort[1])).usePlaintext()
                .directExecutor().build();
        try {
            for (int i = 0; i < calls; i++) { // warm both paths
                ClientCalls.blockingUnaryCall(ch, echo, CallOptions.DEFAULT, request);
                ClientCalls.blockingUnaryCall(ch, digest, CallOptions.DEFAULT, request);
            }
            System.out.printf("| round | Echo p50 / mean / p99 (µs) | %s p50 / mean / p99 (µs) | %s − Echo p50 / mean (µs) |%n",
                    name, name);
            System.out.println("|---|---|---|---|");
            for (int r = 1; r <= rounds; r++) {
                Histogram e = run(ch, echo, request, calls);
                Histogram d = run(ch, digest, request, calls);
                System.out.printf(Locale.ROOT, "| %d | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %.1f / %.1f |%n", r,
                        us(e.getValueAtPercentile(50)), e.getMean() / 1000, us(e.getValueAtPercentile(99)),
                        us(d.getValueAtPercentile(50)), d.getMean() / 1000, us(d.getValueAtPercentile(99)),
                        us(d.getValueAtPercentile(50) - e.getValueAtPercentile(50)), (d.getMean() - e.getMean()) / 1000);
            }
        } finally {
            ch.shutdownNow();
        }
    }

    private static Histogram run(ManagedChannel ch, MethodDescriptor<byte[], byte[]> m, byte[] request, int calls) {
        Histogram h = new Histogram(3);
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            ClientCalls.blockingUnaryCall(ch, m, CallOptions.DEFAULT, request);
            h.recordValue(System.nanoTime() - t0);
        }
        return h;
    }

    private static double us(long nanos) {
        return nanos / 1000.0;
    }
}
