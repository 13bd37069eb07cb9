package dev.shmesh.broker;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A child JVM for the cross-process tests: maps a ring by path and produces into it.
 *
 * <pre>
 * produce mpsc|mpmc PATH PRODUCER_ID COUNT [COUNTERS_PATH]   messages (id: long, seq: long), type 1
 * wake    mpsc|mpmc PATH DELAY_MS                              one message after a delay
 * lease-and-die mpsc|mpmc PATH LEASES_PATH                     lease one message for an hour, then halt(42)
 * claim-and-die mpsc|mpmc PATH                                 claim a record, write half of it, halt(42)
 * take-and-hang mpmc PATH MEMBER [LEASES_PATH]                   as a registered consumer, take one message (under
 *                                                                a lease when LEASES_PATH is given), print "taken"
 *                                                                inside the ring's poll, and hang there to be killed
 * claim-and-hang mpmc PATH MEMBER                              as a registered producer, claim a slot, write half of
 *                                                                it, print "claimed" and hang there to be killed
 * </pre>
 */
public final class RingChild {
    private RingChild() {}

    private static void hang() {
        System.out.println("taken");
        System.out.flush();
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException ignored) {
                // wait for SIGKILL
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[2]);
        try (Ring ring = args[1].equals("mpsc") ? ManyToOneRing.open(path) : ManyToManyRing.open(path);
                Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(16, 8);
            switch (args[0]) {
                case "produce" -> {
                    long id = Long.parseLong(args[3]);
                    long count = Long.parseLong(args[4]);
                    Counters counters = args.length > 5 ? Counters.attach(ShmSegment.open(
                            Path.of(args[5]), dev.shmesh.broker.internal.SegmentHeaderDescriptor.KIND_COUNTERS,
                            false)) : null;
                    if (counters != null) {
                        ring.bindCounters(counters.find("ring"));
                    }
                    src.set(ValueLayout.JAVA_LONG, 0, id);
                    for (long seq = 0; seq < count; seq++) {
                        src.set(ValueLayout.JAVA_LONG, 8, seq);
                        int r;
                        while ((r = ring.offer(1, src, 0, 16)) < 0) {
                            if (r != Ring.BACK_PRESSURED) {
                                System.err.println("child " + id + ": offer returned " + r + " " + ring.fenceReport());
                                System.exit(2);
                            }
                            Thread.yield();
                        }
                    }
                    if (counters != null) {
                        counters.close();
                    }
                }
                case "wake" -> {
                    Thread.sleep(Long.parseLong(args[3]));
                    src.set(ValueLayout.JAVA_LONG, 0, 77L);
                    if (ring.offer(1, src, 0, 16) < 0) {
                        System.exit(3);
                    }
                }
                case "lease-and-die" -> {
                    try (LeaseTable leases = LeaseTable.open(Path.of(args[3]))) {
                        int n;
                        while ((n = leases.pollLeased(ring, (l, id, t, p, o, len) -> {}, 1, 3_600_000_000_000L)) == 0) {
                            Thread.onSpinWait();
                        }
                        Runtime.getRuntime().halt(n == 1 ? 42 : 4); // die holding the lease
                    }
                }
                case "claim-and-die" -> {
                    int index = ring.tryClaim(1, 16);
                    if (index < 0) {
                        System.exit(5);
                    }
                    ring.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, index, 1234L);
                    Runtime.getRuntime().halt(42); // die between tryClaim and commit
                }
                case "take-and-hang" -> {
                    long member = Long.parseLong(args[3]);
                    ManyToManyRing.Consumer consumer = ((ManyToManyRing) ring).consumer(member);
                    LeaseTable leases = args.length > 4 ? LeaseTable.open(Path.of(args[4])).actAs(member) : null;
                    while (true) {
                        if (leases != null) {
                            leases.pollLeased(consumer, (l, id, t, p, o, len) -> hang(), 1, 3_600_000_000_000L);
                        } else {
                            consumer.poll((t, b, o, len) -> hang(), 1);
                        }
                        Thread.onSpinWait();
                    }
                }
                case "claim-and-hang" -> {
                    ManyToManyRing.Producer producer = ((ManyToManyRing) ring).producer(Long.parseLong(args[3]));
                    int index = producer.tryClaim(1, 16);
                    if (index < 0) {
                        System.exit(5);
                    }
                    producer.buffer().set(ValueLayout.JAVA_LONG_UNALIGNED, index, 4321L);
                    System.out.println("claimed");
                    System.out.flush();
                    hang();
                }
                default -> throw new IllegalArgumentException("mode=" + args[0]);
            }
        }
    }
}
