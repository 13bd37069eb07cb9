package dev.shmesh.worker;

import dev.shmesh.broker.IdleStrategy;
import dev.shmesh.broker.ManyToManyRing;
import dev.shmesh.broker.ManyToOneRing;
import dev.shmesh.broker.Ring;
import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * An edge worker's side of the digest service: puts jobs on the shared-memory jobs ring and completes
 * each caller's future from this worker's reply ring. A full ring is answered at once, never queued.
 * Each request id is answered once: a second reply for it (a redelivered job computed twice) is dropped.
 *
 * <p>Thread-safety: {@link #submit} from any thread; one poller thread reads the reply ring.
 */
final class EdgeDigests {
    private static final Logger LOG = Logger.getLogger(EdgeDigests.class);
    private static final long TIMEOUT_MS = Long.getLong("shmesh.digest.timeout-ms", 10_000);
    private static volatile EdgeDigests instance;

    enum Outcome { OK, FULL, TOO_LARGE, UNAVAILABLE, BAD_ALGORITHM, TIMEOUT, FAILED }

    record Result(Outcome outcome, byte[] digest, String computedBy, String detail) {
        static Result of(Outcome outcome, String detail) {
            return new Result(outcome, null, null, detail);
        }
    }

    private final ManyToManyRing jobs;
    /** Puts jobs on the ring; registered under this worker's member id so that the broker can skip a claim
     * this process never committed (it died). One claim at a time: {@link #submit} takes its lock. */
    private final ManyToManyRing.Producer producer;
    private final ManyToOneRing replies;
    private final int replyRing;
    private final long idBase = new SecureRandom().nextLong() & 0x7FFF_FFFF_0000_0000L;
    private final AtomicLong seq = new AtomicLong();
    private final Map<Long, CompletableFuture<Result>> pending = new ConcurrentHashMap<>();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong unblocked = new AtomicLong();

    private EdgeDigests(ManyToManyRing jobs, ManyToOneRing replies, int replyRing, long member) {
        this.jobs = jobs;
        this.producer = jobs.producer(member);
        this.replies = replies;
        this.replyRing = replyRing;
    }

    /** Maps the handed jobs and reply rings (before seccomp: opening /proc/self/fd/N needs O_RDWR). */
    static void start(int replyRing, long member) throws IOException {
        ManyToManyRing jobs = HandedSegments.map("jobs", SegmentHeaderDescriptor.KIND_MANY_TO_MANY_RING,
                ManyToManyRing::attach);
        ManyToOneRing replies = HandedSegments.map("replies", SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING,
                ManyToOneRing::attach);
        if (jobs == null || replies == null) {
            return; // no broker in this mesh: /v1/digest answers 503
        }
        if (member <= 0) {
            LOG.warnf("the gateway gave this worker no member id; it serves without digests (gateway and worker"
                    + " must be the same shmesh version)");
            return;
        }
        EdgeDigests e = new EdgeDigests(jobs, replies, replyRing, member);
        HandedSegments.bindCounters(jobs, "jobs");
        HandedSegments.bindCounters(replies, "replies-" + replyRing);
        Thread.ofPlatform().daemon().name("shmesh-digest-replies").start(e::pollReplies);
        instance = e;
    }

    /**
     * Stops putting jobs on the ring (the worker is leaving: the gateway is gone and counts it gone). Pending
     * callers time out; new ones get 503.
     */
    static void stop() {
        EdgeDigests e = instance;
        instance = null;
        if (e != null) {
            synchronized (e.producer) {
                e.producer.close(); // aborts a claim in flight
            }
        }
    }

    /** The running client, or null when this worker has no broker segments. */
    static EdgeDigests get() {
        return instance;
    }

    CompletableFuture<Result> submit(String algorithmName, byte[] data) {
        byte algorithm = DigestWire.algorithm(algorithmName);
        if (algorithm == 0) {
            return CompletableFuture.completedFuture(Result.of(Outcome.BAD_ALGORITHM,
                    "unknown algorithm '" + algorithmName + "': use sha-256, sha-512 or sha3-256"));
        }
        if (data.length > DigestWire.MAX_DATA) {
            return CompletableFuture.completedFuture(Result.of(Outcome.TOO_LARGE,
                    "data is " + data.length + " bytes; the limit is " + DigestWire.MAX_DATA));
        }
        long id = idBase | (seq.incrementAndGet() & 0xFFFF_FFFFL);
        CompletableFuture<Result> future = new CompletableFuture<>();
        pending.put(id, future);
        int index = Ring.CLOSED;
        synchronized (producer) {
            if (instance == this) { // not stopped
                index = producer.tryClaim(DigestWire.JOB, DigestWire.JOB_HEADER + data.length);
            }
            if (index >= 0) {
                try {
                    DigestWire.writeJob(producer.buffer(), index, id, replyRing, algorithm, data);
                } catch (RuntimeException e) {
                    producer.abort(index); // never leave a claim behind: it would stall every compute
                    pending.remove(id);
                    throw e;
                }
                if (!producer.commit(index)) {
                    index = Ring.CLOSED; // released under us: the gateway declared this worker gone
                }
            }
        }
        if (index < 0) {
            pending.remove(id);
            return CompletableFuture.completedFuture(switch (index) {
                case Ring.BACK_PRESSURED -> Result.of(Outcome.FULL, "the jobs ring is full; retry later");
                case Ring.TOO_LARGE -> Result.of(Outcome.TOO_LARGE, "job larger than a ring slot");
                default -> Result.of(Outcome.UNAVAILABLE, "the jobs ring is " + (index == Ring.FENCED
                        ? "fenced off after corruption: " + jobs.fenceReport() : "closed"));
            });
        }
        return future.completeOnTimeout(Result.of(Outcome.TIMEOUT, "no compute worker answered within "
                        + TIMEOUT_MS + " ms"), TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .whenComplete((r, t) -> pending.remove(id));
    }

    /**
     * A reply ring whose head record stays claimed-but-uncommitted this long, with no reply read meanwhile, belongs
     * to a compute worker that died between claim and commit: {@link ManyToOneRing#unblock} skips it. A live one
     * takes microseconds.
     */
    private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("shmesh.digest.stall-ms", 2000));

    private void pollReplies() {
        IdleStrategy idle = IdleStrategy.spinThenPark(replies, 200, TimeUnit.MILLISECONDS.toNanos(50));
        long stalledSince = -1; // when the head record was first seen claimed and uncommitted, with no progress since
        while (true) {
            int n = replies.poll((type, buffer, offset, length) -> {
                DigestWire.Reply reply = DigestWire.Reply.read(type, buffer, offset, length);
                if (reply == null) {
                    malformed.incrementAndGet();
                    return;
                }
                CompletableFuture<Result> f = pending.remove(reply.requestId());
                if (f == null) {
                    duplicates.incrementAndGet(); // answered already (a redelivered job), or timed out
                    return;
                }
                f.complete(reply.status() == DigestWire.OK
                        ? new Result(Outcome.OK, reply.digest(), reply.computedBy(), "")
                        : Result.of(Outcome.FAILED, "the compute worker refused the job"));
            }, 64);
            if (n == Ring.FENCED) {
                LOG.errorf("reply ring fenced off: %s", replies.fenceReport());
                pending.values().forEach(f -> f.complete(Result.of(Outcome.UNAVAILABLE, "reply ring fenced")));
                return;
            }
            long now = System.nanoTime();
            if (n != 0 || pending.isEmpty() || !replies.headClaimedUncommitted()) {
                stalledSince = -1;
            } else if (stalledSince < 0) {
                stalledSince = now;
            } else if (now - stalledSince > STALL_NANOS) {
                stalledSince = -1;
                if (replies.unblock()) {
                    unblocked.incrementAndGet();
                    LOG.warnf("reply ring %d: skipped a reply a compute worker claimed and never committed (it died)",
                            replyRing);
                }
            }
            idle.idle(Math.max(n, 0));
        }
    }

    Map<String, String> info() {
        return Map.of("digest.pending", Integer.toString(pending.size()),
                "digest.duplicates", Long.toString(duplicates.get()),
                "digest.malformed", Long.toString(malformed.get()),
                "digest.repliesUnblocked", Long.toString(unblocked.get()),
                "digest.replyRing", Integer.toString(replyRing));
    }
}
