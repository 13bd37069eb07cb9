package dev.shmesh.gateway;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.inject.Inject;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Gateway entry point. Flags map onto configuration keys (which can also come from a config file,
 * {@code -D} properties or {@code SHMESH_*} environment variables), then Quarkus starts the admin
 * endpoint and {@link Gateway} starts the mesh.
 */
@QuarkusMain
public class GatewayMain implements QuarkusApplication {
    private static final Logger LOG = Logger.getLogger(GatewayMain.class);

    static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("--host", "shmesh.listen.host"),
            Map.entry("--port", "shmesh.listen.port"),
            Map.entry("--backlog", "shmesh.listen.backlog"),
            Map.entry("--workers", "shmesh.worker.count"),
            Map.entry("--computes", "shmesh.broker.computes"),
            Map.entry("--isolation", "shmesh.worker.isolation"),
            Map.entry("--worker-jar", "shmesh.worker.jar"),
            Map.entry("--run-dir", "shmesh.run-dir"),
            Map.entry("--mesh", "shmesh.mesh"),
            Map.entry("-f", "shmesh.mesh-file"),
            Map.entry("--mesh-file", "shmesh.mesh-file"),
            Map.entry("--mode", "shmesh.mode"),
            Map.entry("--user", "shmesh.gateway.user"),
            Map.entry("--admin-host", "quarkus.http.host"),
            Map.entry("--admin-port", "quarkus.http.port"),
            Map.entry("--config", "quarkus.config.locations"));

    private static final String USAGE = """
            usage: shmesh up [-f shmesh.yaml] [--host H] [--port N] [--backlog N] [--workers N] [--computes N]
                             [--isolation sandbox|netns|none]
                             [--run-dir DIR] [--mesh NAME] [--admin-host H] [--admin-port N]
                             [--config FILE] [--worker-jar JAR] [--mode host|container] [--strict]
                             [--user NAME|UID[:GID]]   (started as root: the user it drops to)
              Every flag is also a config key (see README): --port = shmesh.listen.port = SHMESH_LISTEN_PORT.
            """;

    @Inject
    Gateway gateway;

    public static void main(String... args) {
        if ("1".equals(System.getenv("SHMESH_STRICT"))) {
            System.setProperty("shmesh.strict", "true");
        }
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                System.out.print(USAGE);
                return;
            }
            if (arg.equals("--strict")) {
                System.setProperty("shmesh.strict", "true");
                continue;
            }
            String value = null;
            String flag = arg;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                flag = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            String key = FLAGS.get(flag);
            if (key == null) {
                System.err.print("shmesh: unknown flag '" + arg + "'\n" + USAGE);
                System.exit(2);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    System.err.print("shmesh: flag " + flag + " needs a value\n" + USAGE);
                    System.exit(2);
                }
                value = args[++i];
            }
            System.setProperty(key, value);
        }
        Quarkus.run(GatewayMain.class, (code, failure) -> {
            if (failure != null) {
                System.err.println("shmesh gateway failed to start: " + rootMessage(failure));
                if ("1".equals(System.getenv("SHMESH_DEBUG"))) {
                    failure.printStackTrace();
                } else {
                    System.err.println("  (SHMESH_DEBUG=1 prints the stack trace)");
                }
            }
            System.exit(code);
        });
    }

    @Override
    public int run(String... args) {
        try {
            gateway.start();
        } catch (Exception e) {
            LOG.errorf("shmesh gateway cannot start: %s", rootMessage(e));
            gateway.stop();
            return 1;
        }
        Quarkus.waitForExit();
        return 0;
    }

    /** The message of {@code t} and of each cause, so that a wrapped failure still says what failed. */
    private static String rootMessage(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null && b.length() < 2000; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
            if (b.indexOf(m) < 0) {
                b.append(b.length() == 0 ? "" : ": caused by ").append(m);
            }
        }
        return b.toString();
    }
}
