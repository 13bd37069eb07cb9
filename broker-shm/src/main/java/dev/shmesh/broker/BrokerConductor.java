package dev.shmesh.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.logging.Logger;

/**
 * The broker's single-threaded owner of a mesh's shared memory: creates the segments
 * ({@code shmesh-<mesh>-jobs}, {@code -leases}, {@code -counters}, {@code -replies-0..n}) or re-attaches
 * to them after a crash so queued work survives, redelivers expired leases, and removes everything on
 * a clean mesh stop.
 *
 * <pre>
 *   edge workers --offer--> jobs (many-to-many) --pollLeased--> compute workers
 *        ^                                                            |
 *        +---- replies-i (many-to-one, one per edge) <----offer-------+
 *   leases: a job taken by a compute is copied here first; reap() re-offers expired ones to jobs
 * </pre>
 * Thread-safety: one thread (the broker's) calls everything.
 */
public final class BrokerConductor implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BrokerConductor.class.getName());

    /** Sizes of a mesh's segments. */
    public record Layout(int jobSlots, int maxJobLength, int leaseSlots, int replyRings, int replyCapacity) {
        /** 128 jobs of up to 64 KiB, 256 leases, 16 reply rings of 1 MiB. */
        public static Layout defaults() {
            return new Layout(128, 65536, 256, 16, 1 << 20);
        }
    }

    private final String mesh;
    private final ManyToManyRing jobs;
    private final LeaseTable leases;
    private final Counters counters;
    private final List<ManyToOneRing> replies;
    private final RingCounters jobCounters;
    private final boolean reattached;
    private ManyToManyRing.Producer jobsProducer;

    private BrokerConductor(String mesh, ManyToManyRing jobs, LeaseTable leases, Counters counters,
            List<ManyToOneRing> replies, boolean reattached) {
        this.mesh = mesh;
        this.jobs = jobs;
        this.leases = leases;
        this.counters = counters;
        this.replies = replies;
        this.reattached = reattached;
        RingCounters found = counters.find("jobs");
        this.jobCounters = found != null ? found : counters.allocate("jobs");
        jobs.bindCounters(jobCounters);
        leases.bindCounters(jobCounters);
        for (int i = 0; i < replies.size(); i++) {
            RingCounters c = counters.find("replies-" + i);
            replies.get(i).bindCounters(c != null ? c : counters.allocate("replies-" + i));
        }
    }

    /**
     * Re-attaches to the mesh's segments when they all exist and validate; otherwise removes whatever is
     * left of them and creates a fresh set.
     */
    public static BrokerConductor openOrCreate(String mesh, Layout layout) throws IOException {
        return openOrCreate(mesh, layout, 0);
    }

    /**
     * {@link #openOrCreate(String, Layout)} for the members of gateway generation {@code generation} (from Assign;
     * 0: any). Segments that another generation's members used are removed and created anew: member ids repeat
     * across gateways, so the old generation's records would pass for new members' — and its queued jobs were for
     * clients that are gone with it.
     */
    public static BrokerConductor openOrCreate(String mesh, Layout layout, long generation) throws IOException {
        try {
            BrokerConductor c = attach(mesh, layout, generation);
            if (c != null) {
                return c;
            }
            unlinkAll(mesh, layout); // another generation's: attach() said so before it mapped the reply rings
        } catch (IOException | RuntimeException e) {
            if (anyExists(mesh, layout)) {
                LOG.warning("cannot re-attach to mesh " + mesh + "'s segments (" + e.getMessage()
                        + "); removing them and starting empty");
            }
            unlinkAll(mesh, layout);
        }
        BrokerConductor created = create(mesh, layout);
        created.leases.generation(generation);
        return created;
    }

    /**
     * Maps the mesh's segments, or returns null if they belong to another gateway generation than {@code generation}
     * (0: any). The generation is checked before the reply rings are mapped: those mappings are released only by
     * the GC ({@link ShmSegment}), and a broker allocates too little to GC soon.
     */
    private static BrokerConductor attach(String mesh, Layout layout, long generation) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            ManyToManyRing jobs = track(opened, ManyToManyRing.open(ShmSegment.pathOf(mesh, "jobs")));
            LeaseTable leases = track(opened, LeaseTable.open(ShmSegment.pathOf(mesh, "leases")));
            long stored = leases.generation();
            if (generation != 0 && stored != generation) {
                LOG.info("mesh " + mesh + "'s segments belong to an earlier gateway (generation "
                        + Long.toHexString(stored) + "); starting empty for generation " + Long.toHexString(generation));
                closeAll(opened);
                return null;
            }
            Counters counters = track(opened, ShmSegment.open(mesh, "counters",
                    dev.shmesh.broker.internal.SegmentHeaderDescriptor.KIND_COUNTERS).attachOrClose(Counters::attach));
            List<ManyToOneRing> replies = new ArrayList<>();
            for (int i = 0; i < layout.replyRings(); i++) {
                replies.add(track(opened, ManyToOneRing.open(ShmSegment.pathOf(mesh, "replies-" + i))));
            }
            return new BrokerConductor(mesh, jobs, leases, counters, replies, true);
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    private static BrokerConductor create(String mesh, Layout layout) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            ManyToManyRing jobs = track(opened, ManyToManyRing.create(mesh, "jobs", layout.jobSlots(), layout.maxJobLength()));
            LeaseTable leases = track(opened, LeaseTable.create(ShmSegment.pathOf(mesh, "leases"), layout.leaseSlots(),
                    layout.maxJobLength()));
            Counters counters = track(opened, Counters.create(mesh, "counters", 8 + layout.replyRings()));
            List<ManyToOneRing> replies = new ArrayList<>();
            for (int i = 0; i < layout.replyRings(); i++) {
                replies.add(track(opened, ManyToOneRing.create(mesh, "replies-" + i, layout.replyCapacity())));
            }
            return new BrokerConductor(mesh, jobs, leases, counters, replies, false);
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            unlinkAll(mesh, layout);
            throw e;
        }
    }

    /** True when the segments existed and were re-attached (work queued before a crash is still there). */
    public boolean reattached() {
        return reattached;
    }

    /** The segment files by name, in the order they are handed out: jobs, leases, counters, replies-0.. */
    public Map<String, Path> segmentPaths() {
        Map<String, Path> paths = new LinkedHashMap<>();
        paths.put("jobs", jobs.segment().path());
        paths.put("leases", leases.segment().path());
        paths.put("counters", counters.segment().path());
        for (int i = 0; i < replies.size(); i++) {
            paths.put("replies-" + i, replies.get(i).segment().path());
        }
        return paths;
    }

    /**
     * Holds leases and reaps as mesh member {@code member} (the broker's own id), not as its pid, and redelivers
     * through a producer registered as that member: a broker killed in the middle of a redelivery leaves a claim
     * the next broker publishes as padding (the lease it came from is still there), not a stalled ring.
     */
    public BrokerConductor actAs(long member) {
        leases.actAs(member);
        if (jobsProducer != null) {
            jobsProducer.close();
        }
        jobsProducer = jobs.producer(member);
        return this;
    }

    /** What one {@link #duty} round did. */
    public record Duty(int rescued, int claimsPublished, int redelivered) {}

    private int rescuedThisRound;

    /**
     * One round of the broker's duties. A gone member's hold on the jobs ring is released
     * ({@link ManyToManyRing#releaseAbandoned}): jobs a gone compute had taken but not leased are rescued into the
     * lease table, and a claim a gone edge never committed is published as padding so that computes get past it.
     * Then leases are redelivered whose deadline passed or whose holder is gone. {@code gone} tells which mesh
     * members are gone (from the gateway, which sees its workers exit); holders live in other pid namespaces, so
     * pids are never consulted.
     */
    public Duty duty(LongPredicate gone) {
        rescuedThisRound = 0;
        long claimsBefore = jobs.claimsPublished();
        jobs.releaseAbandoned(gone, (type, buffer, offset, length) -> {
            boolean adopted = leases.adopt(type, buffer, offset, length);
            if (adopted) {
                rescuedThisRound++;
            }
            return adopted;
        });
        int redelivered = leases.reap(jobsProducer != null ? jobsProducer : jobs, LeaseTable.Holders.members(gone));
        return new Duty(rescuedThisRound, (int) (jobs.claimsPublished() - claimsBefore), redelivered);
    }

    /** Consumers registered on the jobs ring. */
    public int jobConsumers() {
        return jobs.consumers();
    }

    /** Producers registered on the jobs ring. */
    public int jobProducers() {
        return jobs.producers();
    }

    /** Fence reports of every fenced ring (empty when all are healthy). */
    public List<String> fenced() {
        List<String> out = new ArrayList<>();
        if (jobs.isFenced()) {
            out.add("jobs: " + jobs.fenceReport());
        }
        for (int i = 0; i < replies.size(); i++) {
            if (replies.get(i).isFenced()) {
                out.add("replies-" + i + ": " + replies.get(i).fenceReport());
            }
        }
        return out;
    }

    /** Leases currently held. */
    public int leasesInUse() {
        return leases.inUse();
    }

    /** Removes every segment of this mesh (a clean stop): mappings stay valid until closed. */
    public void unlink() {
        for (Path p : segmentPaths().values()) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warning("cannot remove " + p + ": " + e.getMessage());
            }
        }
    }

    private static boolean anyExists(String mesh, Layout layout) {
        return names(layout).stream().anyMatch(n -> Files.exists(ShmSegment.pathOf(mesh, n)));
    }

    /** Removes the mesh's segment files that exist. */
    public static void unlinkAll(String mesh, Layout layout) {
        for (String n : names(layout)) {
            try {
                Files.deleteIfExists(ShmSegment.pathOf(mesh, n));
            } catch (IOException e) {
                LOG.warning("cannot remove " + ShmSegment.pathOf(mesh, n) + ": " + e.getMessage());
            }
        }
    }

    private static List<String> names(Layout layout) {
        List<String> names = new ArrayList<>(List.of("jobs", "leases", "counters"));
        for (int i = 0; i < layout.replyRings(); i++) {
            names.add("replies-" + i);
        }
        return names;
    }

    @Override
    public void close() {
        if (jobsProducer != null) {
            jobsProducer.close();
        }
        jobs.close();
        leases.close();
        counters.close();
        replies.forEach(ManyToOneRing::close);
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> opened, T resource) {
        opened.add(resource);
        return resource;
    }

    private static void closeAll(List<AutoCloseable> opened) {
        for (AutoCloseable c : opened) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already failing
            }
        }
    }

    @Override
    public String toString() {
        return "BrokerConductor[mesh=" + mesh + ", reattached=" + reattached + "]";
    }
}
