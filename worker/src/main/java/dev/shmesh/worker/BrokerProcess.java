package dev.shmesh.worker;

import dev.shmesh.broker.BrokerConductor;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;
import dev.shmesh.api.control.v1.Members;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The broker role: owns the mesh's shared memory through {@link BrokerConductor}, hands the segment fds
 * to the gateway (which hands them on to workers), then every 100 ms and on each Members frame from the gateway
 * takes back the jobs of gone compute workers, redelivers expired leases and reports fenced rings. A clean stop
 * (the gateway's Stop) removes the segments; a crash leaves them for the next
 * broker to re-attach, so nothing queued is lost.
 */
final class BrokerProcess {
    private static final Logger LOG = Logger.getLogger(BrokerProcess.class.getName());

    private final BrokerConductor conductor;
    private final AtomicLong redelivered = new AtomicLong();
    private final AtomicLong rescued = new AtomicLong();
    private final AtomicLong claimsPublished = new AtomicLong();
    /** Members the gateway said are gone; until its first Members frame, nobody (leases end by deadline). */
    private volatile LongPredicate gone = member -> false;
    private volatile long goneCount;
    private final java.util.List<RandomAccessFile> open = new java.util.ArrayList<>();
    private volatile List<String> fenced = List.of();

    private BrokerProcess(BrokerConductor conductor) {
        this.conductor = conductor;
    }

    /**
     * Opens or re-attaches the mesh's segments; {@code member} and {@code generation} are this broker's id and its
     * gateway's generation from Assign (0: none).
     */
    static BrokerProcess open(String mesh, long member, long generation) throws IOException {
        BrokerConductor c = BrokerConductor.openOrCreate(mesh, BrokerConductor.Layout.defaults(), generation);
        if (member > 0) {
            c.actAs(member);
        }
        LOG.info("broker for mesh " + mesh + ": " + (c.reattached() ? "re-attached to" : "created") + " "
                + c.segmentPaths().size() + " segments");
        return new BrokerProcess(c);
    }

    /** Fresh read-write fds for every segment, to send to the gateway (opened before seccomp is armed). */
    Map<String, FileDescriptor> segmentFds() throws IOException {
        Map<String, FileDescriptor> fds = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : conductor.segmentPaths().entrySet()) {
            RandomAccessFile file = new RandomAccessFile(e.getValue().toFile(), "rw");
            open.add(file); // reachable, so no cleaner closes the fd before it is sent
            fds.put(e.getKey(), file.getFD());
        }
        return fds;
    }

    /** The duty loop; returns when interrupted. */
    void run() {
        while (!Thread.currentThread().isInterrupted()) {
            duty();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One round: rescue and redeliver the jobs of gone members and of expired leases; report fenced rings. */
    private synchronized void duty() {
        BrokerConductor.Duty d = conductor.duty(gone);
        rescued.addAndGet(d.rescued());
        claimsPublished.addAndGet(d.claimsPublished());
        redelivered.addAndGet(d.redelivered());
        if (d.rescued() + d.claimsPublished() + d.redelivered() > 0) {
            LOG.info("took back from gone members and expired leases: " + d.rescued() + " job(s) a compute had taken"
                    + " off the ring, " + d.redelivered() + " lease(s) redelivered, " + d.claimsPublished()
                    + " uncommitted edge claim(s) skipped");
        }
        List<String> now = conductor.fenced();
        if (!now.equals(fenced)) {
            now.stream().filter(f -> !fenced.contains(f)).forEach(f -> LOG.severe("ring fenced off: " + f));
            fenced = now;
        }
    }

    /**
     * The gateway's word on who is live: a member id up to {@code highest_assigned} that is not live is gone
     * for good. Takes its jobs back at once (on the control thread), not at the next round or the deadline.
     */
    void onMembers(Members members) {
        long highest = members.getHighestAssigned();
        Set<Long> live = Set.copyOf(members.getLiveList());
        gone = member -> member <= highest && !live.contains(member);
        goneCount = highest - live.stream().filter(m -> m <= highest).count();
        duty();
    }

    /** A clean mesh stop: remove every segment. */
    synchronized void unlink() {
        conductor.unlink();
    }

    Map<String, String> info() {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("broker.redelivered", Long.toString(redelivered.get()));
        info.put("broker.rescued", Long.toString(rescued.get()));
        info.put("broker.claimsPublished", Long.toString(claimsPublished.get()));
        info.put("broker.jobProducers", Integer.toString(conductor.jobProducers()));
        info.put("broker.goneMembers", Long.toString(goneCount));
        info.put("broker.jobConsumers", Integer.toString(conductor.jobConsumers()));
        info.put("broker.leasesInUse", Integer.toString(conductor.leasesInUse()));
        info.put("broker.reattached", Boolean.toString(conductor.reattached()));
        info.put("broker.fenced", String.join("; ", fenced));
        return info;
    }
}
