#!/usr/bin/env bash
# The edge -> service hop at c1: gRPC Demo/Echo (the edge answers) against shmesh.example.v1.Ledger/Record (the edge
# forwards it, as bytes, to the ledger service of a mesh file over gRPC on shared memory), 64 B, interleaved rounds,
# through a running mesh of 1 edge and 1 ledger replica (made public for this).
#   bench/grpc/service-hop.sh [rounds] [calls per round]
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
cat >"$WORK/shmesh.yaml" <<YAML
listeners:
  - name: public
    address: 127.0.0.1
    port: $PORT
edge:
  replicas: 1
services:
  - name: ledger
    artifact: $ROOT/examples/ledger/target/ledger.jar
    exposure: public
    grpc: [shmesh.example.v1.Ledger]
YAML
chmod 644 "$WORK/shmesh.yaml"
"$JAVA" @"$ROOT/jvm.options" -Dshmesh.worker.jvm-options="$ROOT/jvm.options" \
  -Dshmesh.worker.jar="$ROOT/worker/target/quarkus-app/quarkus-run.jar" ${JVM_FLAGS:-} \
  -jar "$ROOT/gateway/target/quarkus-app/quarkus-run.jar" -f "$WORK/shmesh.yaml" --admin-port "$ADMIN" \
  --run-dir "$WORK/run" --mesh "hop$$" >"$WORK/gateway.log" 2>&1 &
GW=$!
for _ in $(seq 1 120); do
  [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$ADMIN/status" 2>/dev/null | grep -o '"state":"ready"' | wc -l)" -ge 2 ] && break
  sleep 0.5
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%H:%M) UTC"
"$JAVA" -cp "$ROOT/bench/target/benchmarks.jar" dev.shmesh.bench.MeshDigestHop "127.0.0.1:$PORT" "$ROUNDS" "$CALLS" \
  shmesh.example.v1.Ledger/Record
