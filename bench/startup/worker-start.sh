#!/usr/bin/env bash
# Edge worker start-to-ready time and RSS at ready, per isolation mode, side by side in one run:
# the gateway logs "worker-N ready (pid P) in T ms" (spawn to Ready, i.e. serving on the handed fd,
# seccomp armed when the mode has it), and /status carries each worker's VmRSS.
#
#   bench/startup/worker-start.sh [-r ROUNDS] [-m "sandbox none"]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS=5 MODES="sandbox netns none"
while getopts r:m: o; do case $o in r) ROUNDS=$OPTARG;; m) MODES=$OPTARG;; *) exit 2;; esac; done
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
GATEWAY_JAR="$ROOT/gateway/target/quarkus-app/quarkus-run.jar"
WORKER_JAR="$ROOT/worker/target/quarkus-app/quarkus-run.jar"
[ -f "$GATEWAY_JAR" ] && [ -f "$WORKER_JAR" ] || { echo "build first: ./shmesh build" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

printf '%-8s %5s %10s %10s %10s %10s\n' mode round ready_ms_1 ready_ms_2 rss_mb_1 rss_mb_2
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    run=$(mktemp -d); log=$(mktemp); admin=$(free_port)
    "$JAVA" @"$ROOT/jvm.options" -Dshmesh.worker.jvm-options="$ROOT/jvm.options" -Dshmesh.worker.jar="$WORKER_JAR" \
      -jar "$GATEWAY_JAR" --port "$(free_port)" --admin-port "$admin" --run-dir "$run" --workers 2 \
      --isolation "$mode" >"$log" 2>&1 &
    gw=$!
    for _ in $(seq 1 300); do [ "$(grep -c 'worker-[0-9]* ready (pid' "$log")" -ge 2 ] && break; sleep 0.1; done
    sleep 1.5 # one heartbeat with the RSS at ready
    ms=$(grep -o 'worker-[0-9]* ready (pid [0-9]*) in [0-9]* ms' "$log" | awk '{print $6}' | head -2 | tr '\n' ' ')
    rss=$(curl -fs "http://127.0.0.1:$admin/status" | python3 -c \
      'import json,sys; print(" ".join("%.0f" % (w["health"]["rssBytes"]/1048576) for w in json.load(sys.stdin)["workers"] if "health" in w and w["role"] == "edge"))')
    printf '%-8s %5d %10s %10s %10s %10s\n' "$mode" "$round" $ms $rss
    kill "$gw"; wait "$gw" 2>/dev/null || true; rm -rf "$run" "$log"
  done
done
