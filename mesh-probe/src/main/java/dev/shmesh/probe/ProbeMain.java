package dev.shmesh.probe;

import dev.shmesh.service.MeshService;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A mesh service that looks around from inside its sandbox and reports what it finds in its heartbeats
 * ({@code ./shmesh status}, the admin {@code /status}), as a compromised service would look:
 * <ul>
 *   <li>{@code probe.devShm}: the entries of /dev/shm it can list, or {@code absent};</li>
 *   <li>{@code probe.pids}: the processes it can see in /proc;</li>
 *   <li>{@code probe.rings}: the shared-memory rings this process holds, open or mapped (distinct memfds named
 *       {@code shmesh-grpc-*} among its fds and in /proc/self/maps);</li>
 *   <li>{@code probe.replicas.<service>}: the replicas of each service it calls that the gateway connected.</li>
 * </ul>
 * It serves gRPC with no service (every call UNIMPLEMENTED) so that it takes its callers' connections, and calls
 * nothing: the gateway connects it to what its {@code calls} lists.
 */
public final class ProbeMain {
    private ProbeMain() {}

    public static void main(String[] args) throws Exception {
        MeshService mesh = MeshService.join();
        java.util.List<String> calls = java.util.List.of(System.getenv().getOrDefault("PROBE_CALLS", "").split(","));
        mesh.info(() -> {
            Map<String, String> facts = new TreeMap<>();
            facts.put("probe.devShm", list(Path.of("/dev/shm")));
            facts.put("probe.pids", String.join(",", pids()));
            facts.put("probe.rings", Integer.toString(rings()));
            for (String c : calls) {
                if (!c.isBlank()) {
                    facts.put("probe.replicas." + c, String.join(",", mesh.connections().client().replicas(c)));
                }
            }
            return facts;
        });
        io.grpc.Server server = mesh.serverBuilder(9099).build().start();
        Object stop = new Object();
        mesh.ready(() -> {
            server.shutdownNow();
            synchronized (stop) {
                stop.notifyAll();
            }
        });
        synchronized (stop) {
            stop.wait();
        }
    }

    private static String list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return "absent";
        }
        TreeSet<String> names = new TreeSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            entries.forEach(p -> names.add(p.getFileName().toString()));
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
        return String.join(",", names);
    }

    private static java.util.List<String> pids() {
        java.util.List<String> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.chars().allMatch(Character::isDigit)) {
                    pids.add(name);
                }
            }
        } catch (IOException e) {
            pids.add("unreadable");
        }
        pids.sort(java.util.Comparator.comparingLong(Long::parseLong));
        return pids;
    }

    /** Distinct memfds of the transport's rings this process holds: open fds and mappings, by inode. */
    private static int rings() {
        TreeSet<String> inodes = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                if (line.contains("/memfd:shmesh-grpc-")) {
                    inodes.add(line.trim().split("\\s+")[4]);
                }
            }
        } catch (IOException e) {
            return -1;
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith("/memfd:shmesh-grpc-")) {
                        inodes.add(Files.getAttribute(fd, "unix:ino").toString());
                    }
                } catch (IOException | UnsupportedOperationException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return inodes.size();
    }
}
