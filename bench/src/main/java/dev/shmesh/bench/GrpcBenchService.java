package dev.shmesh.bench;

import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * The service {@link GrpcTransportBench} calls, over {@code byte[]} messages (no protoc): {@code Unary} echoes its
 * request, {@code Stream} answers a 4-byte message size with messages of that size until the client cancels,
 * sending only while the call {@code isReady()} (grpc-java's flow control, as an application should).
 */
final class GrpcBenchService {
    static final String SERVICE = "shmesh.bench.Echo";

    /** Marshals a byte[] as itself; parses by the stream's known length when it has one (one copy). */
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try (stream) {
                if (stream instanceof KnownLength || stream instanceof ByteArrayInputStream) {
                    byte[] b = new byte[stream.available()];
                    int n = stream.readNBytes(b, 0, b.length);
                    if (n != b.length) {
                        throw new IllegalStateException("short message: " + n + " of " + b.length + " bytes");
                    }
                    return b;
                }
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static final MethodDescriptor<byte[], byte[]> UNARY = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Unary"))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    static final MethodDescriptor<byte[], byte[]> STREAM = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Stream"))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    private GrpcBenchService() {}

    static ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(SERVICE)
                .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, response) -> {
                    response.onNext(request);
                    response.onCompleted();
                }))
                .addMethod(STREAM, ServerCalls.asyncServerStreamingCall(GrpcBenchService::stream))
                .build();
    }

    static byte[] streamRequest(int messageSize) {
        return ByteBuffer.allocate(4).putInt(0, messageSize).array();
    }

    private static void stream(byte[] request, StreamObserver<byte[]> response) {
        byte[] message = new byte[ByteBuffer.wrap(request).getInt(0)];
        ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) response;
        call.setOnCancelHandler(() -> {}); // the client ends the stream by cancelling: expected, not an error
        Runnable drain = () -> {
            while (call.isReady() && !call.isCancelled()) {
                call.onNext(message);
            }
        };
        call.setOnReadyHandler(drain);
        drain.run(); // the transport's first onReady may have come before the handler was set
    }
}
