package dev.shmesh.bench;

import java.nio.file.Path;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The ring under test for the JMH benchmarks: which implementation, what payload size, in a /dev/shm file. A
 * subclass's own {@code @State} scope replaces this one.
 */
@State(Scope.Thread)
public abstract class RingFixture {
    @Param({"shmesh-mpsc", "agrona-mpsc", "agrona-spsc", "shmesh-mpmc"})
    public String impl;

    @Param({"64", "1024"})
    public int size;

    BenchRing ring;
    private Path path;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        path = BenchRing.tempPath(impl);
        ring = BenchRing.create(impl, path, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ring.close();
        BenchRing.delete(path);
    }
}
