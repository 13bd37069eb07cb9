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
        Map<String, Object> gw = (Map<String, Object>) status.get("gateway");
        Map<String, Object> gs = (Map<String, Object>) gw.get("sandbox");
        b.append("mesh ").append(status.get("mesh")).append("  gateway pid ").append(gw.get("pid"))
                .append("  seccomp ").append(gs.get("seccomp")).append("  CapEff ").append(gs.get("capEff"))
                .append('\n');
        b.append("isolation ").append(status.get("isolation")).append('\n');
        for (Map<String, Object> l : (List<Map<String, Object>>) status.get("listeners")) {
            b.append("listener ").append(l.get("name")).append("  ").append(l.get("address"))
                    .append("  fd ").append(l.get("fd")).append('\n');
        }
        b.append("control ").append(status.get("controlSocket"))
                .append("  rejected peers ").append(status.get("rejectedPeers")).append("\n\n");
        b.append(String.format("%-12s %-8s %-8s %-10s %-11s %-8s %-9s %-9s %-8s %-8s %s%n", "WORKER", "PID", "ROLE",
                "SERVICE", "STATE", "RESTARTS", "UPTIME", "REQUESTS", "SECCOMP", "CAPEFF", "NETNS"));
        for (Map<String, Object> w : (List<Map<String, Object>>) status.get("workers")) {
            Map<String, Object> h = w.get("health") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
            Map<String, Object> sb = h.get("sandbox") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
            String capEff = String.valueOf(sb.getOrDefault("capEff", "-"));
            b.append(String.format("%-12s %-8s %-8s %-10s %-11s %-8s %-9s %-9s %-8s %-8s %s%n",
                    w.get("id"), w.get("pid") == null ? "-" : w.get("pid"), w.get("role"),
                    w.getOrDefault("service", "-"), w.get("state"),
                    w.get("restarts"), w.get("uptime"), h.getOrDefault("requests", "-"),
                    sb.getOrDefault("seccomp", "-"), capEff.replaceFirst("^0+(?=.)", ""),
                    sb.getOrDefault("ns.net", "-")));
        }
        return b.toString();
    }
}
