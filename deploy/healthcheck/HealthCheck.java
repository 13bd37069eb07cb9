import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container health probe: the images have no shell and no curl, so the container runtime runs
 * {@code java -cp /app/healthcheck HealthCheck URL}. Exit 0 when URL answers 2xx within 2 s, else 1
 * (the HEALTHCHECK contract), with one line on stderr saying why. Uses java.base only, so it runs on the
 * jlink-ed base image. Compiled by {@code ./shmesh images} into deploy/target/healthcheck.
 */
public final class HealthCheck {
    private HealthCheck() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: java -cp /app/healthcheck HealthCheck http://127.0.0.1:9901/health/live");
            System.exit(2);
        }
        System.exit(check(args[0]));
    }

    static int check(String url) {
        HttpURLConnection c = null;
        try {
            c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(2000);
            c.setUseCaches(false);
            int status = c.getResponseCode();
            try (InputStream body = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
                if (body != null) {
                    body.readAllBytes();
                }
            }
            if (status / 100 == 2) {
                return 0;
            }
            System.err.println("health check " + url + ": HTTP " + status);
            return 1;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("health check " + url + ": " + e);
            return 1;
        } finally {
            if (c != null) {
                c.disconnect();
            }
        }
    }
}
