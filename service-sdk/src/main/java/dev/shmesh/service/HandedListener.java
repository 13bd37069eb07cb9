package dev.shmesh.service;

/**
 * A listening socket the gateway handed this process: its name in the Assign message ({@code http}), its fd in this
 * process, and the address it is bound to ({@code 127.0.0.1:8080}). The fd stays open for the life of the process.
 */
public record HandedListener(String name, int fd, String address) {
    /** The host part of {@link #address}, without IPv6 brackets. */
    public String host() {
        return address.substring(0, address.lastIndexOf(':')).replace("[", "").replace("]", "");
    }

    /** The port of {@link #address}. */
    public int port() {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }
}
