#!/usr/bin/env bash
# Interleaved, pinned rounds of CrossProcessThroughput: every round runs each IMPL once (producer JVM on CPU 0,
# consumer on CPU 1), prints M msgs/s per IMPL and each one's ratio to the LAST IMPL, then the median ratios.
# On a VM the speed of a cross-core hand-off changes with vCPU placement from one minute to the next: only ratios
# from the same round compare. Build first: ./shmesh mvn -q -pl bench -am package -DskipTests
# Usage: bench/xput-rounds.sh ROUNDS SIZE MESSAGES IMPL... (an IMPL may be NAME@JAR to compare two builds)
# e.g.   bench/xput-rounds.sh 10 64 60000000 shmesh-mpsc agrona-spsc agrona-mpsc
# IMPL c-mpsc / c-spsc is the C reference ring (bench/c/shmring.c, compiled here with cc -O2).
# EMPTY_SPINS=N: the consumer pauses N times after an empty poll (Java and C alike; default 1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 4 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
rounds=$1 size=$2 messages=$3; shift 3
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
       --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -XX:+UseSerialGC)
PIN=()
if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then
  export SHMESH_BENCH_CHILD_CPUS=0
  PIN=(taskset -c 1)
fi
SPINS=${EMPTY_SPINS:-1}
C_RING="$ROOT/bench/target/shmring"
if [[ " $* " == *" c-"* ]] && [ ! -x "$C_RING" -o "$ROOT/bench/c/shmring.c" -nt "$C_RING" ]; then
  mkdir -p "$ROOT/bench/target" && cc -O2 -o "$C_RING" "$ROOT/bench/c/shmring.c"
fi
echo "# $(date -u +%FT%TZ) $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg); size=$size messages=$messages empty-poll pauses=$SPINS"
echo "# M msgs/s per impl: $*; then each / ${!#}"
for ((r = 1; r <= rounds; r++)); do
  row=()
  for spec in "$@"; do
    impl=${spec%@*} jar="$ROOT/bench/target/benchmarks.jar"
    [ "$spec" = "$impl" ] || jar=${spec#*@}
    if [[ $impl == c-* ]]; then  # pins itself: producer (forked) on CPU 0, consumer on CPU 1
      line=$(SHMRING_BACKOFF=$SPINS timeout 300 "$C_RING" "${impl#c-}" "$size" "$messages" 2>&1 | tail -1)
    else
      line=$(timeout 300 "${PIN[@]}" "$JAVA" "${FLAGS[@]}" -Dbench.emptySpins="$SPINS" -cp "$jar" \
        dev.shmesh.bench.CrossProcessThroughput "$impl" "$size" "$messages" 2>&1 | tail -1)
    fi
    rate=$(sed -nE 's/.*: ([0-9.]+) M msgs\/s.*/\1/p' <<< "$line")
    [ -n "$rate" ] || { echo "bench: $impl failed: $line" >&2; exit 1; }
    row+=("$rate")
  done
  echo "${row[*]}"
done | awk '
  { printf "%s   ", $0; for (i = 1; i < NF; i++) { r[i, NR] = $i / $NF; printf " %.2f", r[i, NR] }; print ""; n = NF }
  END {
    printf "median ratio to the last impl:"
    for (i = 1; i < n; i++) {
      for (k = 1; k <= NR; k++) {   # insertion sort: mawk has no asort
        x = r[i, k]; j = k - 1
        while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- }
        v[j + 1] = x
      }
      printf " %.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    }
    print ""
  }'
