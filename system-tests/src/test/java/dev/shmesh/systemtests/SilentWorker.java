package dev.shmesh.systemtests;

/**
 * Stands in for a worker that never reaches the control socket, so that its slot keeps an unused
 * token: the gateway runs it instead of the real worker jar in {@link StolenTokenTest}.
 */
public final class SilentWorker {
    private SilentWorker() {}

    public static void main(String[] args) throws InterruptedException {
        Thread.sleep(120_000);
    }
}
