#!/usr/bin/env bash
# The edge -> compute hop at c1: gRPC Demo/Echo (the edge answers) against Demo/Digest (the edge calls a compute
# worker over gRPC on shared memory), through a running mesh of 1 edge and 1 compute worker, 64 B, interleaved rounds.
#   bench/grpc/digest-hop.sh [rounds] [calls per round]
#   JVM_FLAGS="-Dshmesh.worker.jvm-args=-Dshmesh.grpc.spins=200000" bench/grpc/digest-hop.sh   (gateway JVM flags)
# Needs: ./shmesh build, and bench/target/benchmarks.jar (./shmesh mvn -q -pl bench -am package -DskipTests).
# Loopback only; stops the mesh it started (by pid) on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
ROUNDS=${1:-5}; CALLS=${2:-20000}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); ADMIN=$(free_port); WORK=$(mktemp -d); chmod 755 "$WORK"  # a root gateway runs as nobody
cleanup() { [ -n "${GW:-}" ] && kill -TERM "$GW" 2>/dev/null && wait "$GW" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
"$JAVA" @"$ROOT/jvm.options" -Dshmesh.worker.jvm-options="$ROOT/jvm.options" \
  -Dshmesh.worker.jar="$ROOT/worker/target/quarkus-app/quarkus-run.jar" ${JVM_FLAGS:-} \
  -jar "$ROOT/gateway/target/quarkus-app/quarkus-run.jar" --port "$PORT" --admin-port "$ADMIN" \
  --run-dir "$WORK/run" --workers 1 --computes 1 --mesh "hop$$" >"$WORK/gateway.log" 2>&1 &
GW=$!
for _ in $(seq 1 120); do
  [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$ADMIN/status" 2>/dev/null | grep -o '"state":"ready"' | wc -l)" -ge 3 ] && break
  sleep 0.5
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%H:%M) UTC"
"$JAVA" -cp "$ROOT/bench/target/benchmarks.jar" dev.shmesh.bench.MeshDigestHop "127.0.0.1:$PORT" "$ROUNDS" "$CALLS"
