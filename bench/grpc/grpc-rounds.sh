#!/usr/bin/env bash
# gRPC over four transports side by side (issue #11), in interleaved rounds: grpc-shm, grpc-netty over 127.0.0.1
# and over a Unix domain socket (each with its server in a child JVM), grpc-java in-process (one JVM, the floor),
# then the futex wake-up round trip (PingPongLatency shm-park / shm-spin-park with the same gaps as the idle cell,
# and shm-park back to back). The transport order rotates each round; the table at the end takes ratios only
# within a round. ~2.5 min per round on 2 cores. Builds nothing; build first (bench/README.md):
#   ./shmesh mvn -q -pl grpc-shm -am install -DskipTests && ./shmesh mvn -q -pl bench package -DskipTests
# Usage: bench/grpc/grpc-rounds.sh [ROUNDS [TRANSPORT...]]   (default 3 rounds of shm netty-tcp netty-uds inproc)
# Env: WARMUP_MS / MEASURE_MS per cell (1000 / 2000), GAP_US between idle calls (1000), SPINS (grpc-shm's spins,
#      both sides; default the transport's 20 000), OUT (the raw lines; default bench/target/grpc-rounds-TIME.tsv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAR="$ROOT/bench/target/benchmarks.jar"
[ -f "$JAR" ] || { echo "bench: $JAR missing; build first (see the head of $0)" >&2; exit 1; }
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
rounds=${1:-3}
[ $# -gt 0 ] && shift
transports=("$@")
[ ${#transports[@]} -gt 0 ] || transports=(shm netty-tcp netty-uds inproc)
GAP_US=${GAP_US:-1000}
OUT=${OUT:-"$ROOT/bench/target/grpc-rounds-$(date -u +%Y%m%dT%H%M%SZ).tsv"}
PROPS=(-Dshmesh.jvm.options="$ROOT/jvm.options" -Dbench.grpc.idleGapUs="$GAP_US")
[ -z "${WARMUP_MS:-}" ] || PROPS+=(-Dbench.grpc.warmupMs="$WARMUP_MS")
[ -z "${MEASURE_MS:-}" ] || PROPS+=(-Dbench.grpc.measureMs="$MEASURE_MS")
[ -z "${SPINS:-}" ] || PROPS+=(-Dbench.grpc.spins="$SPINS")
# PingPongLatency's own flags, as in run.sh
PP_FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
          --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -XX:+UseSerialGC)

note() { echo "# $*" | tee -a "$OUT"; }
futex() {  # round mode samples gap_us cell
  local line
  line=$(timeout 120 "$JAVA" "${PP_FLAGS[@]}" -cp "$JAR" dev.shmesh.bench.PingPongLatency "$2" "$3" "$4" 2>&1 | tail -1)
  sed -nE "s/.*samples=([0-9]+) +p50=([0-9.]+) µs +p99=([0-9.]+) µs +p99\.9=([0-9.]+) µs.*/$1\tfutex\t$5\t\2\t\3\t\4\t-\t-\t\1/p" \
    <<< "$line" | tee -a "$OUT" | grep . || { echo "bench: PingPongLatency $2 failed: $line" >&2; exit 1; }
}

start=$SECONDS
note "$(date -u +%FT%TZ) $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg); rounds=$rounds transports=${transports[*]}"
note "jvm: $("$JAVA" -version 2>&1 | head -1); flags: @jvm.options -Xms1g -Xmx1g (client and server JVMs); both sides directExecutor()"
for ((r = 1; r <= rounds; r++)); do
  note "round $r $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  n=${#transports[@]}
  for ((i = 0; i < n; i++)); do
    t=${transports[$(((i + r - 1) % n))]}
    timeout 300 "$JAVA" @"$ROOT/jvm.options" -Xms1g -Xmx1g "${PROPS[@]}" -cp "$JAR" \
      dev.shmesh.bench.GrpcTransportBench "$t" "$r" | tee -a "$OUT"
  done
  futex "$r" shm-park 3000 "$GAP_US" "shm-park-gap${GAP_US}us"
  futex "$r" shm-spin-park 3000 "$GAP_US" "shm-spin-park-gap${GAP_US}us"
  futex "$r" shm-park 20000 0 shm-park-steady
done
note "done $(date -u +%T) after $((SECONDS - start)) s, load: $(cut -d' ' -f1-3 /proc/loadavg); raw lines: $OUT"
"$JAVA" -cp "$JAR" dev.shmesh.bench.GrpcBenchTable "$OUT"
