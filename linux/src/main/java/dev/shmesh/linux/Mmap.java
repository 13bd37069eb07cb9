package dev.shmesh.linux;

import dev.shmesh.linux.internal.Libc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code mmap(2)} of a descriptor as it is: a process whose seccomp filter forbids read-write opens cannot reopen a
 * received memfd through {@code /proc/self/fd}, but it may map the descriptor it holds.
 */
public final class Mmap {
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final int SEEK_END = 2;
    private static final MethodHandle MMAP = Libc.downcall("mmap", FunctionDescriptor.of(Libc.C_POINTER,
            Libc.C_POINTER, Libc.C_LONG, Libc.C_INT, Libc.C_INT, Libc.C_INT, Libc.C_LONG));
    private static final MethodHandle MUNMAP =
            Libc.downcall("munmap", FunctionDescriptor.of(Libc.C_INT, Libc.C_POINTER, Libc.C_LONG));
    private static final MethodHandle LSEEK =
            Libc.downcall("lseek", FunctionDescriptor.of(Libc.C_LONG, Libc.C_INT, Libc.C_LONG, Libc.C_INT));

    private Mmap() {}

    /** The size of the file behind {@code fd} ({@code lseek(fd, 0, SEEK_END)}). */
    public static long size(int fd) throws LinuxException {
        return Libc.call("lseek", "fd=" + fd + ", 0, SEEK_END", st -> (long) LSEEK.invokeExact(st, fd, 0L, SEEK_END));
    }

    /**
     * Maps {@code length} bytes of {@code fd} from offset 0, shared, read-write (or read-only); returns the address.
     * The mapping outlives the descriptor; release it with {@link #unmap}.
     */
    public static long map(int fd, long length, boolean readOnly) throws LinuxException {
        int prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
        long address = Libc.call("mmap", "fd=" + fd + ", length=" + length + ", prot=" + prot, st -> {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(st, MemorySegment.NULL, length, prot, MAP_SHARED, fd, 0L);
            return p.address() == -1L ? -1L : p.address() & Long.MAX_VALUE;
        });
        return address;
    }

    /** Unmaps what {@link #map} mapped. */
    public static void unmap(long address, long length) throws LinuxException {
        Libc.call("munmap", "address=0x" + Long.toHexString(address) + ", length=" + length,
                st -> (int) MUNMAP.invokeExact(st, MemorySegment.ofAddress(address), length));
    }
}
