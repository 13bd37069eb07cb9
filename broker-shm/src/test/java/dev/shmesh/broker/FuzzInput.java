package dev.shmesh.broker;

import java.io.ByteArrayOutputStream;

/**
 * A fuzzer's bytes read as a little program of fixed-width little-endian fields, front to back; past the end every
 * field reads 0. Seeds are written with {@link Writer}, so a checked-in input says what it does.
 */
final class FuzzInput {
    private final byte[] bytes;
    private int position;

    FuzzInput(byte[] bytes) {
        this.bytes = bytes;
    }

    boolean hasMore() {
        return position < bytes.length;
    }

    int u8() {
        return position < bytes.length ? bytes[position++] & 0xFF : 0;
    }

    int u16() {
        return u8() | u8() << 8;
    }

    int i32() {
        return u16() | u16() << 16;
    }

    long i64() {
        return (i32() & 0xFFFF_FFFFL) | (long) i32() << 32;
    }

    /** A value in [0, bound), from one byte when the bound allows, else two. */
    int below(int bound) {
        return (bound <= 256 ? u8() : u16()) % bound;
    }

    /** Up to {@code n} bytes, fewer at the end of the input. */
    byte[] bytes(int n) {
        int k = Math.max(0, Math.min(n, bytes.length - position));
        byte[] out = java.util.Arrays.copyOfRange(bytes, position, position + k);
        position += k;
        return out;
    }

    /** Encodes what {@link FuzzInput} decodes: for seed inputs. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer u8(int v) {
            out.write(v);
            return this;
        }

        Writer u16(int v) {
            return u8(v).u8(v >>> 8);
        }

        Writer i32(int v) {
            return u16(v).u16(v >>> 16);
        }

        Writer i64(long v) {
            return i32((int) v).i32((int) (v >>> 32));
        }

        Writer bytes(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }
}
