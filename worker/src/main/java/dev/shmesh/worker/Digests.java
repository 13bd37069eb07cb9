package dev.shmesh.worker;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/** The digest algorithms the demo offers, by their user-facing names, and the largest input it takes. */
final class Digests {
    /** Largest data a digest call takes: 4 MiB, gRPC's default message size. */
    static final int MAX_DATA = 4 << 20;

    private Digests() {}

    /** The JDK's name of algorithm {@code name} ("sha-256" when empty), or null when unknown. */
    static String jdkName(String name) {
        if (name == null || name.isBlank()) {
            return "SHA-256";
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "sha-256", "sha256" -> "SHA-256";
            case "sha-512", "sha512" -> "SHA-512";
            case "sha3-256" -> "SHA3-256";
            default -> null;
        };
    }

    /** The digest of {@code data} with a known JDK algorithm name. */
    static byte[] digest(String jdkName, byte[] data) {
        try {
            return MessageDigest.getInstance(jdkName).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + jdkName, e);
        }
    }

    static String unknown(String name) {
        return "unknown algorithm '" + name + "': use sha-256, sha-512 or sha3-256";
    }
}
