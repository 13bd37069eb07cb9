package dev.shmesh.worker;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.HexFormat;

/** HTTP demo routes, as plain Vert.x routes (the fast path: no REST layer). */
@ApplicationScoped
public class DemoRoutes {

    void install(@Observes Router router) {
        router.get("/v1/echo").handler(ctx -> {
            WorkerIdentity.served();
            String msg = ctx.request().getParam("msg");
            ctx.response()
                    .putHeader("content-type", "application/json")
                    .end(new JsonObject()
                            .put("msg", msg == null ? "" : msg)
                            .put("worker", WorkerIdentity.id())
                            .encode());
        });
        router.post("/v1/digest")
                // the body is raw bytes whatever its declared type: `curl --data-binary @file` says
                // x-www-form-urlencoded, and the form decoder would refuse (or mangle) binary data
                .handler(new RawBody())
                .handler(BodyHandler.create().setBodyLimit(Digests.MAX_DATA).setHandleFileUploads(false))
                .handler(this::digest);
    }

    private void digest(RoutingContext ctx) {
        WorkerIdentity.served();
        ComputeClient computes = ComputeClient.get();
        if (computes == null) {
            error(ctx, 503, "no compute worker in this mesh");
            return;
        }
        byte[] data = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        Context context = Vertx.currentContext();
        computes.digest(ctx.request().getParam("alg"), data).whenComplete((reply, failure) -> context.runOnContext(v -> {
            if (failure == null) {
                ctx.response()
                        .putHeader("content-type", "application/json")
                        .end(new JsonObject()
                                .put("digest", HexFormat.of().formatHex(reply.getDigest().toByteArray()))
                                .put("worker", WorkerIdentity.id())
                                .put("computedBy", reply.getComputedBy())
                                .encode());
                return;
            }
            io.grpc.Status status = io.grpc.Status.fromThrowable(failure);
            int http = switch (status.getCode()) {
                case INVALID_ARGUMENT -> 400;
                case DEADLINE_EXCEEDED -> 504;
                case UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED -> 503;
                default -> 500;
            };
            error(ctx, http, status.getDescription() == null ? status.getCode().toString() : status.getDescription());
        }));
    }

    private static void error(RoutingContext ctx, int status, String message) {
        ctx.response()
                .setStatusCode(status)
                .putHeader("content-type", "application/json")
                .end(new JsonObject().put("error", message).put("worker", WorkerIdentity.id()).encode());
    }

    /**
     * Drops the request's content type so that the body handler keeps the bytes as they came. A platform
     * handler: Vert.x Web runs those before body handlers.
     */
    private static final class RawBody implements io.vertx.core.Handler<RoutingContext>,
            io.vertx.ext.web.handler.PlatformHandler {
        @Override
        public void handle(RoutingContext ctx) {
            ctx.request().headers().remove("content-type");
            ctx.next();
        }
    }
}
