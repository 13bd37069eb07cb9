package dev.shmesh.gateway;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;

/** Admin HTTP routes on 127.0.0.1:9901: {@code /status} (JSON, or {@code ?format=text} for humans). */
@ApplicationScoped
public class AdminRoutes {
    @Inject
    Gateway gateway;

    void install(@Observes Router router) {
        router.get("/status").handler(ctx -> {
            Map<String, Object> status = gateway.status();
            if ("text".equals(ctx.request().getParam("format"))) {
                ctx.response().putHeader("content-type", "text/plain; charset=utf-8").end(text(status));
            } else {
                ctx.response().putHeader("content-type", "application/json").end(new JsonObject(status).encodePrettily());
            }
        });
    }

    @SuppressWarnings("unchecked")
    private static String text(Map<String, Object> status) {
        StringBuilder b = new StringBuilder();
        b.append("mesh ").append(status.get("mesh")).append("  gateway ").append(status.get("gateway")).append('\n');
        for (Map<String, Object> l : (List<Map<String, Object>>) status.get("listeners")) {
            b.append("listener ").append(l.get("name")).append("  ").append(l.get("address"))
                    .append("  fd ").append(l.get("fd")).append('\n');
        }
        b.append("control ").append(status.get("controlSocket"))
                .append("  rejected peers ").append(status.get("rejectedPeers")).append("\n\n");
        b.append(String.format("%-10s %-8s %-6s %-11s %-8s %-9s %s%n",
                "WORKER", "PID", "ROLE", "STATE", "RESTARTS", "UPTIME", "REQUESTS"));
        for (Map<String, Object> w : (List<Map<String, Object>>) status.get("workers")) {
            Object requests = w.get("health") instanceof Map<?, ?> h ? h.get("requests") : "-";
            b.append(String.format("%-10s %-8s %-6s %-11s %-8s %-9s %s%n",
                    w.get("id"), w.get("pid") == null ? "-" : w.get("pid"), w.get("role"), w.get("state"),
                    w.get("restarts"), w.get("uptime"), requests));
        }
        return b.toString();
    }
}
