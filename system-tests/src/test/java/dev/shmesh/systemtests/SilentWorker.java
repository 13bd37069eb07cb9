package dev.shmesh.systemtests;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;

/**
 * Stands in for a worker that never reaches the control socket, so that its slot keeps an unused
 * token: the gateway runs it instead of the real worker jar in {@link StolenTokenTest}. It plays a compromised
 * worker: it reads its one-time token from stdin, as a worker does, and leaks it to its output (the gateway's log).
 */
public final class SilentWorker {
    private SilentWorker() {}

    public static void main(String[] args) throws InterruptedException, IOException {
        StringBuilder token = new StringBuilder();
        FileInputStream in = new FileInputStream(FileDescriptor.in);
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
            token.append((char) c);
        }
        System.out.println("silent worker leaks its token: " + token);
        System.out.flush();
        Thread.sleep(120_000);
    }
}
