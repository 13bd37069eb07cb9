package dev.shmesh.grpc.shm;

import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small service over raw bytes for the transport tests: no protoc, every method a transport behaviour.
 * {@code Echo} answers {@code <replica>:} followed by the request; {@code Hold} sends one message and then holds
 * the call open until the client cancels it or dies; {@code Stream} sends {@code n} messages of {@code size} bytes
 * (request: 4 bytes n, 4 bytes size) and reports how far the client's window let it run before it was not ready.
 */
final class TestService {
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
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
    static final MethodDescriptor<byte[], byte[]> ECHO = method("Echo", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> HOLD = method("Hold", MethodDescriptor.MethodType.SERVER_STREAMING);
    static final MethodDescriptor<byte[], byte[]> STREAM = method("Stream", MethodDescriptor.MethodType.SERVER_STREAMING);

    final String replica;
    final AtomicInteger holdsCancelled = new AtomicInteger();
    final CountDownLatch holdStarted = new CountDownLatch(1);
    final CountDownLatch holdCancelled = new CountDownLatch(1);
    /** Messages {@code Stream} had sent when it first found the stream not ready; -1 before. */
    final AtomicInteger sentWhenFirstNotReady = new AtomicInteger(-1);
    volatile io.grpc.Deadline lastDeadline;

    TestService(String replica) {
        this.replica = replica;
    }

    static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("shmesh.test.Test", name))
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder("shmesh.test.Test")
                .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
                    lastDeadline = Context.current().getDeadline();
                    byte[] prefix = (replica + ":").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    byte[] answer = new byte[prefix.length + req.length];
                    System.arraycopy(prefix, 0, answer, 0, prefix.length);
                    System.arraycopy(req, 0, answer, prefix.length, req.length);
                    out.onNext(answer);
                    out.onCompleted();
                }))
                .addMethod(HOLD, ServerCalls.asyncServerStreamingCall((req, out) -> {
                    Context.current().addListener(c -> {
                        holdsCancelled.incrementAndGet();
                        holdCancelled.countDown();
                    }, Runnable::run);
                    out.onNext("holding".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    holdStarted.countDown();
                }))
                .addMethod(STREAM, ServerCalls.asyncServerStreamingCall((req, out) -> {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(req);
                    int n = b.getInt();
                    int size = b.getInt();
                    ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) out;
                    int[] sent = {0};
                    Runnable pump = () -> {
                        while (sent[0] < n) {
                            if (!call.isReady()) {
                                sentWhenFirstNotReady.compareAndSet(-1, sent[0]);
                                return;
                            }
                            call.onNext(new byte[size]);
                            sent[0]++;
                        }
                        if (sent[0] == n) {
                            sent[0]++;
                            call.onCompleted();
                        }
                    };
                    call.setOnReadyHandler(pump);
                    call.setOnCancelHandler(() -> { });
                    pump.run();
                }))
                .build();
    }

    /** Fails a call with the status an unknown method gets. */
    static Status unimplemented() {
        return Status.UNIMPLEMENTED;
    }
}
