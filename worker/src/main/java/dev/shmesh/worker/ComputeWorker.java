package dev.shmesh.worker;

import dev.shmesh.broker.IdleStrategy;
import dev.shmesh.broker.LeaseTable;
import dev.shmesh.broker.ManyToManyRing;
import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.Ring;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A compute worker: no listen fd, no HTTP server. Takes digest jobs from the jobs ring under a lease,
 * computes them outside the ring's poll (so a crash mid-computation leaves only a lease for the broker
 * to redeliver), answers on the reply ring the job names, then completes the lease.
 *
 * <p>One thread. Jobs are untrusted: a malformed one is answered BAD_JOB when it names a valid reply
 * ring, else dropped, and counted either way.
 */
final class ComputeWorker {
    private static final Logger LOG = Logger.getLogger(ComputeWorker.class.getName());
    private static final long LEASE_NANOS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("shmesh.compute.lease-ms", 2000));

    private record Taken(int lease, int type, DigestWire.Job job) {}

    private final ManyToManyRing jobs;
    /** Where jobs are taken from: the jobs ring through a registered consumer when the gateway gave a member id. */
    private final dev.shmesh.broker.MessageSource source;
    private final LeaseTable leases;
    private final List<ManyToOneRing> replies;
    private final byte[] me;
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final List<Taken> batch = new ArrayList<>();

    private ComputeWorker(ManyToManyRing jobs, LeaseTable leases, List<ManyToOneRing> replies, String id,
            long member) {
        this.jobs = jobs;
        this.source = member > 0 ? jobs.consumer(member) : jobs;
        this.leases = member > 0 ? leases.actAs(member) : leases;
        this.replies = replies;
        this.me = id.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Maps the handed segments: jobs, leases and every replies-N. With a {@code member} id (from Assign) the
     * worker holds its leases and registers on the jobs ring as that member, so that when it dies the broker,
     * told by the gateway, takes its jobs back at once.
     */
    static ComputeWorker map(String id, long member) throws IOException {
        List<ManyToOneRing> replies = new ArrayList<>();
        ManyToOneRing reply;
        while ((reply = HandedSegments.map("replies-" + replies.size(),
                SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING, ManyToOneRing::attach)) != null) {
            HandedSegments.bindCounters(reply, "replies-" + replies.size());
            replies.add(reply);
        }
        ManyToManyRing jobs = HandedSegments.map("jobs", SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING,
                ManyToManyRing::attach);
        LeaseTable leases = HandedSegments.map("leases", SegmentHeaderDescriptor.KIND_LEASES, LeaseTable::attach);
        if (jobs == null || leases == null) {
            throw new IOException("the gateway handed no jobs/leases segments: is the broker running?");
        }
        HandedSegments.bindCounters(jobs, "jobs");
        return new ComputeWorker(jobs, leases, replies, id, member);
    }

    /** Runs until the thread is interrupted or the jobs ring is fenced. */
    void run() {
        IdleStrategy idle = IdleStrategy.spinThenPark(jobs, 200, TimeUnit.MILLISECONDS.toNanos(50));
        while (!Thread.currentThread().isInterrupted()) {
            batch.clear();
            int n = leases.pollLeased(source, (lease, requestId, type, payload, offset, length) ->
                    batch.add(new Taken(lease, type, DigestWire.Job.read(type, payload, offset, length))), 16, LEASE_NANOS);
            if (n == Ring.FENCED) {
                LOG.severe("jobs ring fenced off: " + jobs.fenceReport() + "; this compute worker stops taking jobs");
                return;
            }
            for (Taken t : batch) {
                answer(t);
            }
            idle.idle(batch.size());
        }
    }

    private void answer(Taken t) {
        DigestWire.Job job = t.job();
        if (job == null || job.replyRing() < 0 || job.replyRing() >= replies.size()) {
            rejected.incrementAndGet();
            complete(t.lease());
            return;
        }
        MessageDigest md = DigestWire.digest(job.algorithm());
        byte status = md == null ? DigestWire.BAD_JOB : DigestWire.OK;
        byte[] digest = md == null ? new byte[0] : md.digest(job.data());
        ManyToOneRing ring = replies.get(job.replyRing());
        int length = DigestWire.replyLength(digest, me);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (true) {
            int index = ring.tryClaim(DigestWire.REPLY, length);
            if (index >= 0) {
                DigestWire.writeReply(ring.buffer(), index, job.requestId(), status, digest, me);
                ring.commit(index);
                break;
            }
            if (index != Ring.BACK_PRESSURED || System.nanoTime() > deadline) {
                rejected.incrementAndGet(); // fenced/closed reply ring, or an edge that stopped reading
                break;
            }
            Thread.onSpinWait();
        }
        if (status == DigestWire.OK) {
            done.incrementAndGet();
        } else {
            rejected.incrementAndGet();
        }
        complete(t.lease());
    }

    private void complete(int lease) {
        if (lease >= 0) {
            leases.complete(lease); // false: it expired and was redelivered; the edge drops the second answer
        }
    }

    Map<String, String> info() {
        return Map.of("compute.done", Long.toString(done.get()), "compute.rejected", Long.toString(rejected.get()));
    }
}
