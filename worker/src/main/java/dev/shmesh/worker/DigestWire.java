package dev.shmesh.worker;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * The digest job and reply records on the shm rings. Everything read back is untrusted: a decoder
 * returns null for a record that does not fit its layout, never throws.
 *
 * <pre>
 * job   (type 1): requestId u64 | replyRing i32 | algorithm u8 | pad u8[3] | data...
 * reply (type 2): requestId u64 | status u8 | digestLength u8 | computedByLength u16 | digest | computedBy (UTF-8)
 * </pre>
 * Little-endian (both sides are the same host).
 */
final class DigestWire {
    static final int JOB = 1;
    static final int REPLY = 2;
    static final int JOB_HEADER = 16;
    static final int REPLY_HEADER = 12;
    /** Largest data a job carries: the jobs ring's slot payload minus the header. */
    static final int MAX_DATA = 65536 - JOB_HEADER;

    static final byte OK = 0;
    static final byte BAD_JOB = 1;

    private DigestWire() {}

    /** Algorithm code for a user-facing name; 0 when unknown. Empty means SHA-256. */
    static byte algorithm(String name) {
        if (name == null || name.isBlank()) {
            return 1;
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "sha-256", "sha256" -> 1;
            case "sha-512", "sha512" -> 2;
            case "sha3-256" -> 3;
            default -> 0;
        };
    }

    static MessageDigest digest(byte code) {
        String jca = switch (code) {
            case 1 -> "SHA-256";
            case 2 -> "SHA-512";
            case 3 -> "SHA3-256";
            default -> null;
        };
        if (jca == null) {
            return null;
        }
        try {
            return MessageDigest.getInstance(jca);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + jca, e);
        }
    }

    static void writeJob(MemorySegment buf, long at, long requestId, int replyRing, byte algorithm, byte[] data) {
        buf.set(ValueLayout.JAVA_LONG_UNALIGNED, at, requestId);
        buf.set(ValueLayout.JAVA_INT_UNALIGNED, at + 8, replyRing);
        buf.set(ValueLayout.JAVA_BYTE, at + 12, algorithm);
        MemorySegment.copy(MemorySegment.ofArray(data), 0, buf, at + JOB_HEADER, data.length);
    }

    /** A job copied out of shared memory; null when the record is malformed. */
    record Job(long requestId, int replyRing, byte algorithm, byte[] data) {
        static Job read(int type, MemorySegment buf, long at, int length) {
            if (type != JOB || length < JOB_HEADER) {
                return null;
            }
            long id = buf.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
            int ring = buf.get(ValueLayout.JAVA_INT_UNALIGNED, at + 8);
            byte alg = buf.get(ValueLayout.JAVA_BYTE, at + 12);
            byte[] data = buf.asSlice(at + JOB_HEADER, length - JOB_HEADER).toArray(ValueLayout.JAVA_BYTE);
            return new Job(id, ring, alg, data);
        }
    }

    static int replyLength(byte[] digest, byte[] computedBy) {
        return REPLY_HEADER + digest.length + computedBy.length;
    }

    static void writeReply(MemorySegment buf, long at, long requestId, byte status, byte[] digest, byte[] computedBy) {
        buf.set(ValueLayout.JAVA_LONG_UNALIGNED, at, requestId);
        buf.set(ValueLayout.JAVA_BYTE, at + 8, status);
        buf.set(ValueLayout.JAVA_BYTE, at + 9, (byte) digest.length);
        buf.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 10, (short) computedBy.length);
        MemorySegment.copy(MemorySegment.ofArray(digest), 0, buf, at + REPLY_HEADER, digest.length);
        MemorySegment.copy(MemorySegment.ofArray(computedBy), 0, buf, at + REPLY_HEADER + digest.length,
                computedBy.length);
    }

    /** A reply copied out of shared memory; null when the record is malformed. */
    record Reply(long requestId, byte status, byte[] digest, String computedBy) {
        static Reply read(int type, MemorySegment buf, long at, int length) {
            if (type != REPLY || length < REPLY_HEADER) {
                return null;
            }
            int digestLength = Byte.toUnsignedInt(buf.get(ValueLayout.JAVA_BYTE, at + 9));
            int byLength = Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 10));
            if ((long) REPLY_HEADER + digestLength + byLength != length) {
                return null;
            }
            byte[] digest = buf.asSlice(at + REPLY_HEADER, digestLength).toArray(ValueLayout.JAVA_BYTE);
            byte[] by = buf.asSlice(at + REPLY_HEADER + digestLength, byLength).toArray(ValueLayout.JAVA_BYTE);
            return new Reply(buf.get(ValueLayout.JAVA_LONG_UNALIGNED, at), buf.get(ValueLayout.JAVA_BYTE, at + 8),
                    digest, new String(by, StandardCharsets.UTF_8));
        }
    }
}
