#!/usr/bin/env bash
# Runs every shmesh benchmark once, ~8 minutes on 2 cores. Build first:
#   ./shmesh mvn -q -pl bench -am package -DskipTests
# Usage: bench/run.sh [jmh|xput|latency]...   (default: all three)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/bench/target/benchmarks.jar"
[ -f "$JAR" ] || { echo "bench: $JAR missing; run: ./shmesh mvn -q -pl bench -am package -DskipTests" >&2; exit 1; }
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
       --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -XX:+UseSerialGC)
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(jmh xput latency)
echo "# $(date -u +%FT%TZ) $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in "${what[@]}"; do
  case "$w" in
    jmh)
      "$JAVA" -jar "$JAR" RingOpCostBenchmark 2>&1 | grep -E '^(Benchmark|RingOp)'
      "$JAVA" -jar "$JAR" RingBenchmark -p impl=shmesh-mpsc,agrona-mpsc,agrona-spsc -p size=64 2>&1 \
        | grep -E '^Benchmark|:received' ;;
    xput)
      # interleaved, pinned rounds with per-round ratios to Agrona's MPSC ring (see xput-rounds.sh)
      "$ROOT/bench/xput-rounds.sh" 5 64 60000000 shmesh-mpsc shmesh-mpmc agrona-spsc agrona-mpsc
      "$ROOT/bench/xput-rounds.sh" 3 1024 20000000 shmesh-mpsc shmesh-mpmc agrona-spsc agrona-mpsc
      for run in 1 2 3; do
        # two producers and a consumer on two cores: not pinned, the scheduler shares them out
        SHMESH_BENCH_CHILD_CPUS= "$JAVA" "${FLAGS[@]}" -cp "$JAR" dev.shmesh.bench.CrossProcessThroughput shmesh-mpsc 64 20000000 2 2>&1 | tail -1
        SHMESH_BENCH_CHILD_CPUS= "$JAVA" "${FLAGS[@]}" -cp "$JAR" dev.shmesh.bench.CrossProcessThroughput agrona-mpsc 64 20000000 2 2>&1 | tail -1
      done ;;
    latency)
      # back to back (steady load), then with 2 ms between pings (idle: spin-then-park has parked)
      for mode in shm-spin shm-spin-park shm-park uds pipe; do
        "$JAVA" "${FLAGS[@]}" -cp "$JAR" dev.shmesh.bench.PingPongLatency "$mode" 100000 2>&1 | tail -1
      done
      for mode in shm-spin-park shm-park uds pipe; do
        "$JAVA" "${FLAGS[@]}" -cp "$JAR" dev.shmesh.bench.PingPongLatency "$mode" 5000 2000 2>&1 | tail -1
      done ;;
    *) echo "bench: unknown '$w' (jmh, xput, latency)" >&2; exit 1 ;;
  esac
done
echo "# done $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
