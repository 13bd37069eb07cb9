package dev.shmesh.worker;

import dev.shmesh.broker.BrokerConductor;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The broker role: owns the mesh's shared memory through {@link BrokerConductor}, hands the segment fds
 * to the gateway (which hands them on to workers), then redelivers expired leases and reports fenced rings
 * every 100 ms. A clean stop (the gateway's Stop) removes the segments; a crash leaves them for the next
 * broker to re-attach, so nothing queued is lost.
 */
final class BrokerProcess {
    private static final Logger LOG = Logger.getLogger(BrokerProcess.class.getName());

    private final BrokerConductor conductor;
    private final AtomicLong redelivered = new AtomicLong();
    private final java.util.List<RandomAccessFile> open = new java.util.ArrayList<>();
    private volatile List<String> fenced = List.of();

    private BrokerProcess(BrokerConductor conductor) {
        this.conductor = conductor;
    }

    static BrokerProcess open(String mesh) throws IOException {
        BrokerConductor c = BrokerConductor.openOrCreate(mesh, BrokerConductor.Layout.defaults());
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
            synchronized (this) {
                redelivered.addAndGet(conductor.duty());
                List<String> now = conductor.fenced();
                if (!now.equals(fenced)) {
                    now.stream().filter(f -> !fenced.contains(f)).forEach(f -> LOG.severe("ring fenced off: " + f));
                    fenced = now;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A clean mesh stop: remove every segment. */
    synchronized void unlink() {
        conductor.unlink();
    }

    Map<String, String> info() {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("broker.redelivered", Long.toString(redelivered.get()));
        info.put("broker.reattached", Boolean.toString(conductor.reattached()));
        info.put("broker.fenced", String.join("; ", fenced));
        return info;
    }
}
