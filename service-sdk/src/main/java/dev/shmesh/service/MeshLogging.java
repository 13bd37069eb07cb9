package dev.shmesh.service;

import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * One line per record on stderr, in the format of the mesh's Quarkus processes ({@code 12:00:00.000 INFO  [service
 * ledger-1] ...}), for processes that log through plain java.util.logging. A process whose framework installed its own
 * log manager (Quarkus) is left alone.
 */
public final class MeshLogging {
    private MeshLogging() {}

    /** Installs the format for {@code instanceId} when java.util.logging is the JDK's own; otherwise does nothing. */
    public static void installPlain(String what, String instanceId) {
        if (LogManager.getLogManager().getClass() != LogManager.class) {
            return; // e.g. Quarkus's JBoss LogManager: it has its own format
        }
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        Handler console = new StreamHandler(System.err, new Formatter() {
            @Override
            public String format(LogRecord r) {
                String level = switch (r.getLevel().getName()) {
                    case "SEVERE" -> "ERROR";
                    case "WARNING" -> "WARN ";
                    default -> "INFO ";
                };
                return String.format("%1$tH:%1$tM:%1$tS.%1$tL %2$s [%3$s %4$s] %5$s%n", r.getMillis(), level, what,
                        instanceId, formatMessage(r));
            }
        }) {
            @Override
            public synchronized void publish(LogRecord r) {
                super.publish(r);
                flush();
            }
        };
        console.setLevel(Level.INFO);
        root.addHandler(console);
        root.setLevel(Level.INFO);
    }
}
