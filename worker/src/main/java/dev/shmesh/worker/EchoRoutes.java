package dev.shmesh.worker;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/** HTTP demo routes, as plain Vert.x routes (the fast path: no REST layer). */
@ApplicationScoped
public class EchoRoutes {

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
    }
}
