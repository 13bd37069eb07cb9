package dev.shmesh.broker;

import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.CREATOR_PID_OFFSET;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.CREATOR_START_TIME_OFFSET;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.LAYOUT_KIND_OFFSET;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.MAGIC;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.MAGIC_OFFSET;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.TOTAL_LENGTH_OFFSET;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.VERSION;
import static dev.shmesh.broker.internal.SegmentHeaderDescriptor.VERSION_OFFSET;

import dev.shmesh.broker.internal.SegmentHeaderDescriptor;
import dev.shmesh.linux.FileDescriptors;
import dev.shmesh.linux.LinuxException;
import dev.shmesh.linux.MemFd;
import dev.shmesh.linux.Mmap;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A POSIX shared-memory object ({@code /dev/shm/shmesh-<mesh>-<name>}) mapped into this process, starting
 * with a {@link SegmentHeaderDescriptor segment header}.
 *
 * <p>The creator makes the file with {@code O_EXCL} and mode 0600, fills it with zeros (so a full
 * {@code /dev/shm} fails here with an {@link IOException}, not later with SIGBUS), formats its region and
 * then calls {@link #publish()}, which writes the version word last. Openers wait (bounded) for that word and
 * refuse another major version or another layout kind with a {@link ShmFormatException}.
 *
 * <p>Workers do not open segments by name: they receive an fd and use {@link #openFd(int, int)}. The file
 * outlives every process (operators see it in {@code /dev/shm}); {@link #unlink()} removes the name.
 * {@link #close()} unmaps (with the exception below): the owner must make sure no thread still uses
 * {@link #memory()}. Not thread-safe for {@code close}; {@link #memory()} may be used by any thread.
 *
 * <p>Exception: a many-to-one ring's segment is unmapped by the garbage collector once nothing references it, not
 * by {@link #close()}. The ring addresses its data area raw on its hot paths ({@link ManyToOneRing}), which the JDK
 * cannot guard against an unmap on another thread; tying the mapping to reachability makes a late access harmless
 * instead of a crash. Such a mapping (and the pages of an unlinked file) lives until the next GC after its ring is
 * dropped.
 */
public final class ShmSegment implements AutoCloseable {
    /** Where POSIX shared-memory objects live on Linux. */
    public static final Path SHM_DIRECTORY = Path.of("/dev/shm");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}");
    private static final long PUBLISH_WAIT_NANOS = 2_000_000_000L;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final Path path;
    private final Arena arena;
    /** Whether the GC, not {@link #close()}, unmaps ({@link #arenaFor}). */
    private final boolean unmappedByGc;
    private final MemorySegment memory;
    private final int layoutKind;
    private final boolean readOnly;
    private final int anonymousFd;

    private ShmSegment(Path path, Arena arena, MemorySegment memory, int layoutKind, boolean readOnly) {
        this(path, arena, memory, layoutKind, readOnly, -1);
    }

    private ShmSegment(Path path, Arena arena, MemorySegment memory, int layoutKind, boolean readOnly, int anonymousFd) {
        this.anonymousFd = anonymousFd;
        this.path = path;
        this.arena = arena;
        this.unmappedByGc = arenaIsAutomatic(layoutKind);
        this.memory = memory;
        this.layoutKind = layoutKind;
        this.readOnly = readOnly;
    }

    /** The path of segment {@code name} of mesh {@code mesh}: {@code /dev/shm/shmesh-<mesh>-<name>}. */
    public static Path pathOf(String mesh, String name) {
        checkName("mesh", mesh);
        checkName("name", name);
        return SHM_DIRECTORY.resolve("shmesh-" + mesh + "-" + name);
    }

    /** Creates {@code /dev/shm/shmesh-<mesh>-<name>}; see {@link #create(Path, int, long)}. */
    public static ShmSegment create(String mesh, String name, int layoutKind, long length) throws IOException {
        return create(pathOf(mesh, name), layoutKind, length);
    }

    /**
     * Creates a new segment file ({@code O_EXCL}, mode 0600; an existing file is an error, never reused),
     * zero-fills and maps it, and writes every header field except the version. Format the layout region,
     * then call {@link #publish()}.
     *
     * @param length total bytes including the header
     * @throws java.nio.file.FileAlreadyExistsException if the name is taken (a live or crashed peer's segment)
     */
    public static ShmSegment create(Path path, int layoutKind, long length) throws IOException {
        if (length < SegmentHeaderDescriptor.LENGTH || (length & 7) != 0) {
            throw new IllegalArgumentException("length=" + length + " must be a multiple of 8 and at least "
                    + SegmentHeaderDescriptor.LENGTH);
        }
        if (layoutKind <= 0) {
            throw new IllegalArgumentException("layoutKind=" + layoutKind + " must be positive");
        }
        Arena arena = arenaFor(layoutKind);
        boolean ok = false;
        try (FileChannel ch = FileChannel.open(
                path,
                java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            try {
                zeroFill(ch, length);
                MemorySegment memory = ch.map(FileChannel.MapMode.READ_WRITE, 0, length, arena);
                writeHeader(memory, layoutKind, length);
                ok = true;
                return new ShmSegment(path, arena, memory, layoutKind, false);
            } finally {
                if (!ok) {
                    Files.deleteIfExists(path);
                }
            }
        } finally {
            if (!ok) {
                release(arena, layoutKind);
            }
        }
    }

    /**
     * Creates a segment in a new anonymous memfd ({@code memfd_create}, close-on-exec) instead of a file in
     * {@code /dev/shm}: it has no name, so nobody can open it but a process it is handed to, and its memory goes
     * with the last descriptor and mapping. The memfd is sealed against shrinking and growing before it is
     * returned, so a receiver that checks the seals ({@link #openSealedFd}) cannot be made to fault on a truncated
     * mapping. Format the layout region, then {@link #publish()}; hand {@link #anonymousFd()} to the peer (the
     * caller owns and closes that descriptor; the mapping does not need it).
     *
     * @param name shown in {@code /proc/PID/fd} and {@code /proc/PID/maps} ({@code memfd:<name>})
     */
    public static ShmSegment createAnonymous(String name, int layoutKind, long length) throws IOException {
        if (length < SegmentHeaderDescriptor.LENGTH || (length & 7) != 0) {
            throw new IllegalArgumentException("length=" + length + " must be a multiple of 8 and at least "
                    + SegmentHeaderDescriptor.LENGTH);
        }
        if (layoutKind <= 0) {
            throw new IllegalArgumentException("layoutKind=" + layoutKind + " must be positive");
        }
        checkName("name", name);
        int fd = MemFd.create("shmesh-" + name, length, MemFd.MFD_CLOEXEC | MemFd.MFD_ALLOW_SEALING);
        Arena arena = arenaFor(layoutKind);
        boolean ok = false;
        try {
            MemFd.addSeals(fd, MemFd.F_SEAL_SHRINK | MemFd.F_SEAL_GROW | MemFd.F_SEAL_SEAL);
            Path path = Path.of("/proc/self/fd/" + fd);
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                MemorySegment memory = ch.map(FileChannel.MapMode.READ_WRITE, 0, length, arena);
                writeHeader(memory, layoutKind, length);
                ShmSegment segment = new ShmSegment(path, arena, memory, layoutKind, false, fd);
                ok = true;
                return segment;
            }
        } finally {
            if (!ok) {
                release(arena, layoutKind);
                FileDescriptors.closeQuietly(fd);
            }
        }
    }

    /**
     * Maps a segment received from another process as a memfd ({@link #createAnonymous}), after checking that
     * it is sealed against shrinking: an unsealed file could be truncated under the mapping by its sender, and
     * the next access would kill this process with SIGBUS. Then as {@link #openFd}.
     *
     * @throws ShmFormatException when {@code fd} is not a memfd sealed with {@code F_SEAL_SHRINK}
     */
    @SuppressWarnings("restricted") // native access is enabled for every shmesh JVM by jvm.options
    public static ShmSegment openSealedFd(int fd, int expectedKind) throws IOException {
        Path path = Path.of("/proc/self/fd/" + fd);
        int seals;
        try {
            seals = MemFd.seals(fd);
        } catch (LinuxException e) {
            throw new ShmFormatException(path, "is not a memfd (" + e.getMessage() + ")",
                    "a peer must hand over segments made with ShmSegment.createAnonymous");
        }
        if ((seals & MemFd.F_SEAL_SHRINK) == 0) {
            throw new ShmFormatException(path, "memfd is not sealed against shrinking (seals=0x"
                    + Integer.toHexString(seals) + ")", "a peer must hand over segments made with ShmSegment.createAnonymous");
        }
        // map the descriptor itself: reopening /proc/self/fd/N read-write is what a sandboxed process may not do
        long size = Mmap.size(fd);
        if (size < SegmentHeaderDescriptor.LENGTH) {
            throw new ShmFormatException(path, "memfd is " + size + " bytes, shorter than a segment header",
                    "a peer must hand over segments made with ShmSegment.createAnonymous");
        }
        long address = Mmap.map(fd, size, false);
        Arena arena = arenaFor(expectedKind);
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size, arena, m -> unmapQuietly(address, size));
        boolean ok = false;
        try {
            int kind = checkHeader(path, memory, size, expectedKind);
            ok = true;
            return new ShmSegment(path, arena, memory, kind, false);
        } finally {
            if (!ok) {
                release(arena, expectedKind); // an automatic arena's mapping goes with the next GC, once
            }
        }
    }

    private static void unmapQuietly(long address, long size) {
        try {
            Mmap.unmap(address, size);
        } catch (LinuxException e) {
            // nothing to undo: the mapping is gone or never was
        }
    }

    /** The memfd of a segment made by {@link #createAnonymous} (owned by its creator), or -1. */
    public int anonymousFd() {
        return anonymousFd;
    }

    /** Opens {@code /dev/shm/shmesh-<mesh>-<name>} read-write; see {@link #open(Path, int, boolean)}. */
    public static ShmSegment open(String mesh, String name, int expectedKind) throws IOException {
        return open(pathOf(mesh, name), expectedKind, false);
    }

    /**
     * Opens the segment received as file descriptor {@code fd} (through {@code /proc/self/fd/<fd>}, which
     * opens the same file anew). The caller still owns {@code fd} and may close it after this returns: the
     * mapping does not need it.
     */
    public static ShmSegment openFd(int fd, int expectedKind) throws IOException {
        if (fd < 0) {
            throw new IllegalArgumentException("fd=" + fd + " must not be negative");
        }
        return open(Path.of("/proc/self/fd/" + fd), expectedKind, false);
    }

    /**
     * Maps an existing segment, waits up to 2 s for its creator to {@link #publish()} it, and validates the
     * header: magic, major version, layout kind, total length equal to the file's size.
     *
     * @param readOnly map read-only (e.g. a metrics reader of a counters segment)
     * @throws ShmFormatException when the header is refused; the mapping is released
     */
    public static ShmSegment open(Path path, int expectedKind, boolean readOnly) throws IOException {
        Arena arena = arenaFor(expectedKind);
        boolean ok = false;
        // a name in /dev/shm (sticky, world-writable) may have been planted by another local user: never follow a
        // symlink there, and refuse a file this user does not own unless root (fs.protected_hardlinks keeps others from linking
        // one of ours under a name they control, so the check after opening cannot be raced)
        boolean named = path.startsWith(SHM_DIRECTORY);
        java.util.Set<java.nio.file.OpenOption> options = new java.util.HashSet<>();
        options.add(StandardOpenOption.READ);
        if (!readOnly) {
            options.add(StandardOpenOption.WRITE);
        }
        if (named) {
            options.add(java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }
        try (FileChannel ch = FileChannel.open(path, options)) {
            if (named) {
                int owner = (Integer) Files.getAttribute(path, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                int self = dev.shmesh.linux.PrivateFiles.effectiveUid();
                if (owner != self && self != 0) { // root (an operator's tool, a test) may inspect any segment
                    throw new ShmFormatException(path, "is owned by uid " + owner + ", not by this process's uid " + self,
                            "another user created it under this mesh's name; remove it or use another mesh name");
                }
            }
            long size = ch.size();
            if (size < SegmentHeaderDescriptor.LENGTH) {
                throw new ShmFormatException(path, "file is " + size + " bytes, shorter than a segment header",
                        "it is not a shmesh segment or its creator died while creating it; remove it");
            }
            MemorySegment memory = ch.map(
                    readOnly ? FileChannel.MapMode.READ_ONLY : FileChannel.MapMode.READ_WRITE, 0, size, arena);
            int kind = checkHeader(path, memory, size, expectedKind);
            ok = true;
            return new ShmSegment(path, arena, memory, kind, readOnly);
        } finally {
            if (!ok) {
                release(arena, expectedKind);
            }
        }
    }

    /** Waits for the version word, then checks magic, major version, layout kind and length; returns the kind. */
    private static int checkHeader(Path path, MemorySegment memory, long size, int expectedKind) throws ShmFormatException {
        int version = awaitVersion(memory);
        if (version == 0) {
            throw new ShmFormatException(path, "not published within 2 s (version word is 0)",
                "its creator (pid " + memory.get(ValueLayout.JAVA_LONG, CREATOR_PID_OFFSET)
                        + ") is still formatting it or died doing so; retry or remove it");
        }
        long magic = memory.get(ValueLayout.JAVA_LONG, MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new ShmFormatException(path, "bad magic 0x" + Long.toHexString(magic),
                "it is not a shmesh segment; check the name or fd");
        }
        int major = SegmentHeaderDescriptor.major(version);
        if (major != SegmentHeaderDescriptor.MAJOR_VERSION) {
            throw new ShmFormatException(path, "layout major version " + major + "." + SegmentHeaderDescriptor.minor(
                version) + ", this process understands " + SegmentHeaderDescriptor.MAJOR_VERSION,
                "run the same shmesh major version on both sides");
        }
        int kind = memory.get(ValueLayout.JAVA_INT, LAYOUT_KIND_OFFSET);
        if (kind != expectedKind) {
            throw new ShmFormatException(path, "holds a " + SegmentHeaderDescriptor.kindName(kind)
                + ", expected a " + SegmentHeaderDescriptor.kindName(expectedKind),
                "check which segment was passed");
        }
        long total = memory.get(ValueLayout.JAVA_LONG, TOTAL_LENGTH_OFFSET);
        if (total != size) {
            throw new ShmFormatException(path, "header says " + total + " bytes, file has " + size,
                "the file was truncated or overwritten; remove it and recreate");
        }
        return kind;
    }

    /** Turns a mapped, header-checked segment into a typed view (a ring, a lease table...), or refuses it. */
    @FunctionalInterface
    public interface Attacher<T> {
        T attach(ShmSegment segment) throws IOException;
    }

    /**
     * {@code attach.attach(this)}, releasing this mapping when it refuses the segment: the one place that
     * pairs "map" with "close on a bad layout", for every typed view.
     */
    public <T> T attachOrClose(Attacher<T> attach) throws IOException {
        try {
            return attach.attach(this);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Writes the version word with release semantics: the segment is now ready for openers. Creator only. */
    public void publish() {
        if (readOnly) {
            throw new IllegalStateException("segment " + path + " is mapped read-only");
        }
        INT.setRelease(memory, (long) VERSION_OFFSET, VERSION);
    }

    /** The whole mapping, header included. */
    public MemorySegment memory() {
        return memory;
    }

    public Path path() {
        return path;
    }

    public long length() {
        return memory.byteSize();
    }

    public int layoutKind() {
        return layoutKind;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    public long creatorPid() {
        return memory.get(ValueLayout.JAVA_LONG, CREATOR_PID_OFFSET);
    }

    public long creatorStartTimeMillis() {
        return memory.get(ValueLayout.JAVA_LONG, CREATOR_START_TIME_OFFSET);
    }

    /** Whether the creator still runs: its pid exists and started when the header says (pid reuse check). */
    public boolean isCreatorAlive() {
        Optional<ProcessHandle> p = ProcessHandle.of(creatorPid());
        return p.isPresent() && p.get().isAlive() && startMillis(p.get()) == creatorStartTimeMillis();
    }

    /** Removes the segment's name; processes that mapped it keep their mapping. */
    public void unlink() throws IOException {
        if (anonymousFd >= 0) {
            return; // a memfd has no name
        }
        Files.deleteIfExists(path);
    }

    /**
     * Unmaps. Any later access to {@link #memory()} throws {@link IllegalStateException}. A many-to-one ring's
     * segment is left to the GC instead (see the class comment).
     */
    @Override
    public void close() {
        if (!unmappedByGc) {
            arena.close();
        }
    }

    private static boolean arenaIsAutomatic(int layoutKind) {
        return layoutKind == SegmentHeaderDescriptor.KIND_MANY_TO_ONE_RING;
    }

    private static Arena arenaFor(int layoutKind) {
        return arenaIsAutomatic(layoutKind) ? Arena.ofAuto() : Arena.ofShared();
    }

    private static void release(Arena arena, int layoutKind) {
        if (!arenaIsAutomatic(layoutKind)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "ShmSegment[" + path + ", " + SegmentHeaderDescriptor.kindName(layoutKind) + ", " + length() + " bytes]";
    }

    private static int awaitVersion(MemorySegment memory) {
        long deadline = System.nanoTime() + PUBLISH_WAIT_NANOS;
        int version;
        while ((version = (int) INT.getAcquire(memory, (long) VERSION_OFFSET)) == 0
                && System.nanoTime() - deadline < 0) {
            Thread.onSpinWait();
            Thread.yield();
        }
        return version;
    }

    private static void writeHeader(MemorySegment memory, int layoutKind, long length) {
        ProcessHandle self = ProcessHandle.current();
        memory.set(ValueLayout.JAVA_LONG, MAGIC_OFFSET, MAGIC);
        memory.set(ValueLayout.JAVA_INT, LAYOUT_KIND_OFFSET, layoutKind);
        memory.set(ValueLayout.JAVA_LONG, CREATOR_PID_OFFSET, self.pid());
        memory.set(ValueLayout.JAVA_LONG, CREATOR_START_TIME_OFFSET, startMillis(self));
        memory.set(ValueLayout.JAVA_LONG, TOTAL_LENGTH_OFFSET, length);
    }

    private static void zeroFill(FileChannel ch, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 16));
        long position = 0;
        while (position < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - position));
            position += ch.write(zeros, position);
        }
    }

    private static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }

    private static void checkName(String what, String value) {
        if (value == null || !NAME.matcher(value).matches()) {
            throw new IllegalArgumentException(what + "=" + value + " must match " + NAME.pattern());
        }
    }
}
