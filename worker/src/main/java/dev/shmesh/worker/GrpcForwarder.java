package dev.shmesh.worker;

import com.google.common.io.BaseEncoding;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Forwards a gRPC call for a routed service, as bytes, to a replica of the mesh service that owns it, over gRPC on
 * shared memory: method path, metadata (binary headers too), each message, half-close, the response headers, messages,
 * status and trailers, the client's deadline ({@code grpc-timeout}) and its cancellation. No .proto needed: messages
 * pass through as they are (decompressed by Vert.x when the client compressed them). Both directions are flow
 * controlled: the edge reads the next client message when the shared-memory stream is ready, and asks the service for
 * the next response message when the client connection has drained.
 *
 * <p>Runs on the Vert.x event loop of the client's connection; the call's callbacks hop onto it.
 */
final class GrpcForwarder {
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
                throw Status.INTERNAL.withDescription("cannot read a message: " + e.getMessage()).asRuntimeException();
            }
        }
    };
    /** HTTP/2 and gRPC framing headers: the transports on each side write their own. */
    private static final Set<String> NOT_METADATA = Set.of("content-type", "te", "grpc-timeout", "grpc-encoding",
            "grpc-accept-encoding", "grpc-message-type", "content-length", "host", "connection", "user-agent",
            "grpc-status", "grpc-message", "keep-alive", "transfer-encoding", "upgrade");

    /** Methods remembered at most: clients choose method names, so the cache must not grow with them. */
    private static final int MAX_TARGETS = 4096;

    /** Where a forwarded method goes: the owning mesh service, and the method as the channel calls it. */
    private record Target(String service, MethodDescriptor<byte[], byte[]> method) {}

    private final MeshRouter router;
    private final GrpcServer server;
    private final java.util.concurrent.ConcurrentHashMap<String, Target> targets =
            new java.util.concurrent.ConcurrentHashMap<>();

    GrpcForwarder(Vertx vertx, MeshRouter router) {
        this.router = router;
        this.server = GrpcServer.server(vertx).callHandler(this::forward);
    }

    /** A Vert.x route handler: takes gRPC requests for routed services, passes everything else on. */
    void handle(RoutingContext ctx) {
        String type = ctx.request().getHeader("content-type");
        String path = ctx.request().path();
        if (ctx.request().version() != HttpVersion.HTTP_2 || type == null || !type.startsWith("application/grpc")
                || path == null || path.isEmpty() || target(path.substring(1)) == null) {
            ctx.next();
            return;
        }
        WorkerIdentity.served();
        server.handle(ctx.request());
    }

    private void forward(GrpcServerRequest<Buffer, Buffer> request) {
        GrpcServerResponse<Buffer, Buffer> response = request.response();
        Target target = target(request.fullMethodName());
        if (target == null) { // handle() checked it; the path cannot have changed
            response.status(GrpcStatus.UNIMPLEMENTED).end();
            return;
        }
        Context context = Vertx.currentContext();
        Executor onLoop = task -> context.runOnContext(v -> task.run());
        CallOptions options = CallOptions.DEFAULT.withExecutor(onLoop);
        Long timeoutNanos = timeoutNanos(request.headers().get("grpc-timeout"));
        if (timeoutNanos != null) {
            options = options.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS);
        }
        ManagedChannel channel = router.channel(target.service());
        ClientCall<byte[], byte[]> call = channel.newCall(target.method(), options);
        boolean[] paused = {false};
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onHeaders(Metadata headers) {
                copy(headers, response.headers());
            }

            @Override
            public void onMessage(byte[] message) {
                response.write(Buffer.buffer(message));
                if (response.writeQueueFull()) {
                    response.drainHandler(v -> call.request(1));
                } else {
                    call.request(1);
                }
            }

            @Override
            public void onReady() {
                if (paused[0] && call.isReady()) {
                    paused[0] = false;
                    request.resume();
                }
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                copy(trailers, response.trailers());
                response.status(GrpcStatus.valueOf(status.getCode().value()));
                if (status.getDescription() != null) {
                    response.statusMessage(status.getDescription());
                }
                response.end();
            }
        }, metadata(request.headers()));
        call.request(1);
        request.handler(message -> {
            call.sendMessage(message.getBytes());
            if (!call.isReady()) {
                paused[0] = true;
                request.pause();
            }
        });
        request.endHandler(v -> call.halfClose());
        request.errorHandler(error -> call.cancel("the client ended the call: " + error, null));
        request.exceptionHandler(e -> call.cancel("the client's stream failed", e));
        response.exceptionHandler(e -> call.cancel("the client's stream failed", e));
    }

    /**
     * The target of {@code fullMethodName} ({@code pkg.Service/Method}), or null when it is not a routed method: the
     * path is parsed and the descriptor built once per method, not per call (up to {@link #MAX_TARGETS} methods).
     */
    private Target target(String fullMethodName) {
        Target known = targets.get(fullMethodName);
        if (known != null) {
            return known;
        }
        Optional<String> service = router.serviceForGrpcPath("/" + fullMethodName);
        if (service.isEmpty()) {
            return null;
        }
        Target target = new Target(service.get(), MethodDescriptor.newBuilder(BYTES, BYTES)
                .setType(MethodDescriptor.MethodType.UNKNOWN)
                .setFullMethodName(fullMethodName)
                .build());
        if (targets.size() < MAX_TARGETS) {
            targets.putIfAbsent(fullMethodName, target);
        }
        return target;
    }

    /** The client's headers as gRPC metadata: everything but HTTP/2 and gRPC framing; {@code -bin} values decoded. */
    static Metadata metadata(MultiMap headers) {
        Metadata metadata = new Metadata();
        for (Map.Entry<String, String> h : headers) {
            String key = h.getKey().toLowerCase(Locale.ROOT);
            if (key.startsWith(":") || NOT_METADATA.contains(key)) {
                continue;
            }
            try {
                if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                    metadata.put(Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER),
                            BaseEncoding.base64().decode(h.getValue().replace("=", "").trim() + padding(h.getValue())));
                } else {
                    metadata.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), h.getValue());
                }
            } catch (IllegalArgumentException e) {
                // a header gRPC cannot carry (bad name, bad base64): the service would not see it either way
            }
        }
        return metadata;
    }

    private static String padding(String base64) {
        int len = base64.replace("=", "").trim().length();
        return "=".repeat((4 - len % 4) % 4);
    }

    /** Copies gRPC metadata into HTTP/2 headers, {@code -bin} values base64-encoded. */
    static void copy(Metadata metadata, MultiMap into) {
        for (String key : metadata.keys()) {
            if (NOT_METADATA.contains(key)) {
                continue;
            }
            if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                for (byte[] value : metadata.getAll(Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER))) {
                    into.add(key, BaseEncoding.base64().omitPadding().encode(value));
                }
            } else {
                for (String value : metadata.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER))) {
                    into.add(key, value);
                }
            }
        }
    }

    /** {@code grpc-timeout} ({@code 1-8 digits} then H, M, S, m, u or n) in nanoseconds, or null when absent or bad. */
    static Long timeoutNanos(String value) {
        if (value == null || value.length() < 2 || value.length() > 9) {
            return null;
        }
        long amount;
        try {
            amount = Long.parseLong(value.substring(0, value.length() - 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (amount < 0) {
            return null;
        }
        TimeUnit unit = switch (value.charAt(value.length() - 1)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> null;
        };
        return unit == null ? null : unit.toNanos(amount);
    }
}
