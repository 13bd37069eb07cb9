package dev.shmesh.gateway;

import dev.shmesh.broker.CountersReader;
import dev.shmesh.broker.internal.CountersDescriptor;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.FileDescriptor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * Exports the broker's ring counters on /metrics by mapping its counters segment read-only: no RPC,
 * no broker involvement. Re-maps when a restarted broker hands its segments over again.
 * Gauges: {@code shmesh_ring_<counter>{ring="jobs"|"replies-N"}}.
 */
final class ShmMetrics {
    private static final Logger LOG = Logger.getLogger(ShmMetrics.class);

    private final MeterRegistry registry;
    private final Set<String> registered = new HashSet<>();
    private volatile CountersReader reader;

    ShmMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    synchronized void onSegments(Map<String, FileDescriptor> segments) {
        FileDescriptor counters = segments.get("counters");
        if (counters == null) {
            return;
        }
        try {
            int fd = FileDescriptorCast.using(counters).as(Integer.class);
            CountersReader fresh = CountersReader.open(Path.of("/proc/self/fd/" + fd));
            CountersReader old = reader;
            reader = fresh;
            if (old != null) {
                old.close();
            }
            for (String label : fresh.snapshot().keySet()) {
                for (String name : CountersDescriptor.COUNTER_NAMES) {
                    if (registered.add(label + "/" + name)) {
                        Gauge.builder("shmesh_ring_" + name, this, m -> m.value(label, name))
                                .description("shared-memory ring counter " + name)
                                .tag("ring", label)
                                .register(registry);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot map the broker's counters segment for /metrics: %s", e.getMessage());
        }
    }

    Map<String, Map<String, Long>> snapshot() {
        CountersReader r = reader;
        return r == null ? Map.of() : r.snapshot();
    }

    private double value(String label, String name) {
        Map<String, Long> values = snapshot().get(label);
        return values == null ? Double.NaN : values.getOrDefault(name, 0L);
    }
}
