package dev.shmesh.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * Turns the lines of {@link GrpcTransportBench} (and the script's futex lines) from several rounds into Markdown
 * tables: medians per cell and transport, grpc-shm's per-round ratios to the other transports, and the targets of
 * issue #11. Only ratios from the same round are taken; the median is over those per-round ratios.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.shmesh.bench.GrpcBenchTable RESULTS.tsv</pre>
 *
 * Line format (tab-separated): round, transport, cell, p50 µs, p99 µs, p99.9 µs, per second, MB/s, count; "-" for
 * none; lines starting with '#' are notes and are copied.
 */
public final class GrpcBenchTable {
    private static final List<String> TRANSPORTS = List.of("shm", "netty-tcp", "netty-uds", "inproc");

    private record Row(String round, String transport, String cell, double p50, double p99, double p999,
            double rate, double mbps) {}

    private final List<Row> rows = new ArrayList<>();
    private final Set<String> rounds = new TreeSet<>();
    private final Set<String> cells = new LinkedHashSet<>();
    private final Set<String> futexCells = new LinkedHashSet<>();

    private GrpcBenchTable() {}

    public static void main(String[] args) throws Exception {
        GrpcBenchTable t = new GrpcBenchTable();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (line.startsWith("#")) {
                System.out.println(line);
            } else if (!line.isBlank()) {
                t.add(line.split("\t"));
            }
        }
        t.print();
    }

    private void add(String[] f) {
        Row r = new Row(f[0], f[1], f[2], num(f[3]), num(f[4]), num(f[5]), num(f[6]), num(f[7]));
        rows.add(r);
        rounds.add(r.round());
        (r.transport().equals("futex") ? futexCells : cells).add(r.cell());
    }

    private static double num(String s) {
        return s.equals("-") ? Double.NaN : Double.parseDouble(s);
    }

    private Row row(String round, String transport, String cell) {
        for (Row r : rows) {
            if (r.round().equals(round) && r.transport().equals(transport) && r.cell().equals(cell)) {
                return r;
            }
        }
        return null;
    }

    private List<Double> perRound(String transport, String cell, ToDoubleFunction<Row> metric) {
        List<Double> v = new ArrayList<>();
        for (String round : rounds) {
            Row r = row(round, transport, cell);
            v.add(r == null ? Double.NaN : metric.applyAsDouble(r));
        }
        return v;
    }

    /** a's metric over b's, round by round (NaN where either is missing). */
    private List<Double> ratios(String ta, String ca, ToDoubleFunction<Row> ma, String tb, String cb,
            ToDoubleFunction<Row> mb) {
        List<Double> v = new ArrayList<>();
        for (String round : rounds) {
            Row a = row(round, ta, ca);
            Row b = row(round, tb, cb);
            v.add(a == null || b == null ? Double.NaN : ma.applyAsDouble(a) / mb.applyAsDouble(b));
        }
        return v;
    }

    private static double median(List<Double> values) {
        List<Double> v = values.stream().filter(d -> !d.isNaN()).sorted().toList();
        if (v.isEmpty()) {
            return Double.NaN;
        }
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    private static String fmt(double d) {
        if (Double.isNaN(d)) {
            return "–";
        }
        double a = Math.abs(d);
        return String.format(Locale.ROOT, a >= 1000 ? "%,.0f" : a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", d);
    }

    private static String list(List<Double> v) {
        return String.join(" / ", v.stream().map(GrpcBenchTable::fmt).toList());
    }

    private void print() {
        System.out.printf(Locale.ROOT, "%n### Medians of %d rounds (µs; calls/s or messages/s; MB/s of payload one way)%n%n",
                rounds.size());
        System.out.println("| cell | transport | p50 | p99 | p99.9 | per s | MB/s | p50 per round | per s per round |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (String cell : cells) {
            for (String t : TRANSPORTS) {
                if (perRound(t, cell, Row::rate).stream().allMatch(d -> d.isNaN())
                        && perRound(t, cell, Row::p50).stream().allMatch(d -> d.isNaN())) {
                    continue;
                }
                System.out.printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", cell, t,
                        fmt(median(perRound(t, cell, Row::p50))), fmt(median(perRound(t, cell, Row::p99))),
                        fmt(median(perRound(t, cell, Row::p999))), fmt(median(perRound(t, cell, Row::rate))),
                        fmt(median(perRound(t, cell, Row::mbps))), list(perRound(t, cell, Row::p50)),
                        list(perRound(t, cell, Row::rate)));
            }
        }
        for (String cell : futexCells) {
            System.out.printf("| futex RTT: PingPongLatency %s | – | %s | %s | %s | – | – | %s | – |%n", cell,
                    fmt(median(perRound("futex", cell, Row::p50))), fmt(median(perRound("futex", cell, Row::p99))),
                    fmt(median(perRound("futex", cell, Row::p999))), list(perRound("futex", cell, Row::p50)));
        }

        System.out.printf("%n### grpc-shm against the others: median of the per-round ratios%n%n");
        System.out.println("| cell | p50: netty-tcp / shm | netty-uds / shm | shm / inproc"
                + " | per s: shm / netty-tcp | shm / netty-uds | shm / inproc |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (String cell : cells) {
            System.out.printf("| %s | %s | %s | %s | %s | %s | %s |%n", cell,
                    fmt(median(ratios("netty-tcp", cell, Row::p50, "shm", cell, Row::p50))),
                    fmt(median(ratios("netty-uds", cell, Row::p50, "shm", cell, Row::p50))),
                    fmt(median(ratios("shm", cell, Row::p50, "inproc", cell, Row::p50))),
                    fmt(median(ratios("shm", cell, Row::rate, "netty-tcp", cell, Row::rate))),
                    fmt(median(ratios("shm", cell, Row::rate, "netty-uds", cell, Row::rate))),
                    fmt(median(ratios("shm", cell, Row::rate, "inproc", cell, Row::rate))));
        }

        System.out.printf("%n### Targets (issue #11), per round and median%n%n");
        System.out.println("| target | per round | median | |");
        System.out.println("|---|---|---|---|");
        target("unary 64 B p50, steady (c1): netty-tcp / shm ≥ 10",
                ratios("netty-tcp", "unary-64B-c1", Row::p50, "shm", "unary-64B-c1", Row::p50), 10, true);
        target("unary 64 B p50, steady (c16): netty-tcp / shm ≥ 10",
                ratios("netty-tcp", "unary-64B-c16", Row::p50, "shm", "unary-64B-c16", Row::p50), 10, true);
        target("unary 64 B p50 (c1): shm / inproc ≤ 3",
                ratios("shm", "unary-64B-c1", Row::p50, "inproc", "unary-64B-c1", Row::p50), 3, false);
        for (String idle : cells) {
            if (!idle.startsWith("idle-")) {
                continue;
            }
            for (String futex : futexCells) {
                if (futex.contains("gap")) {
                    target("idle 64 B p50 (" + idle + "): shm / futex RTT p50 (" + futex + ") ≤ 1.5",
                            ratios("shm", idle, Row::p50, "futex", futex, Row::p50), 1.5, false);
                }
            }
        }
        target("stream 64 KiB messages/s: shm / netty-tcp ≥ 3",
                ratios("shm", "stream-64KiB", Row::rate, "netty-tcp", "stream-64KiB", Row::rate), 3, true);
    }

    private static void target(String name, List<Double> perRound, double bar, boolean atLeast) {
        double m = median(perRound);
        String verdict = Double.isNaN(m) ? "no data"
                : (atLeast ? m >= bar : m <= bar) ? "met"
                : String.format(Locale.ROOT, "missed (%.2f× off)", atLeast ? bar / m : m / bar);
        System.out.printf("| %s | %s | **%s** | %s |%n", name, list(perRound), fmt(m), verdict);
    }
}
