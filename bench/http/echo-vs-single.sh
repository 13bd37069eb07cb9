#!/usr/bin/env bash
# Load harness: GET /v1/echo with keep-alive through the mesh (gateway + N workers sharing the
# handed socket) against the same handler in one standalone Quarkus process bound to its own port, and, when
# nginx is installed, against that process behind an nginx reverse proxy (the sidecar/proxy design the mesh
# replaces: upstream keep-alive, 2 nginx workers, no access log). Same load tool (wrk), same settings, same
# machine, alternating runs; prints req/s, p50/p99 and ratios.
#
#   bench/http/echo-vs-single.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-w WORKERS] [-r ROUNDS]
#   MESH_FLAGS="--isolation none --computes 0" bench/http/echo-vs-single.sh    (extra gateway flags)
#   NGINX=0 bench/http/echo-vs-single.sh                                       (skip the nginx side)
#
# Needs: wrk (Debian: apt-get install wrk), a built tree (./shmesh build); for the proxy side nginx
# (apt-get install nginx; the script runs its own instance on a free port and stops it). Loopback only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION=15 CONNS=64 THREADS=2 WORKERS=2 ROUNDS=2
while getopts d:c:t:w:r: o; do
  case $o in d) DURATION=$OPTARG;; c) CONNS=$OPTARG;; t) THREADS=$OPTARG;; w) WORKERS=$OPTARG;; r) ROUNDS=$OPTARG;; *) exit 2;; esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
GATEWAY_JAR="$ROOT/gateway/target/quarkus-app/quarkus-run.jar"
WORKER_JAR="$ROOT/worker/target/quarkus-app/quarkus-run.jar"
[ -f "$GATEWAY_JAR" ] && [ -f "$WORKER_JAR" ] || { echo "build first: ./shmesh build" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MESH_PORT=$(free_port); ADMIN_PORT=$(free_port); SINGLE_PORT=$(free_port); PROXY_PORT=$(free_port)
SIDES=(mesh single)
if [ "${NGINX:-1}" != 0 ] && command -v nginx >/dev/null; then SIDES+=(nginx); fi
RUN_DIR=$(mktemp -d); LOGS=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN_DIR"; }
trap cleanup EXIT

"$JAVA" @"$ROOT/jvm.options" -Dshmesh.worker.jvm-options="$ROOT/jvm.options" -Dshmesh.worker.jar="$WORKER_JAR" \
  -jar "$GATEWAY_JAR" --port "$MESH_PORT" --admin-port "$ADMIN_PORT" --run-dir "$RUN_DIR" --workers "$WORKERS" ${MESH_FLAGS:-} \
  >"$LOGS/mesh.log" 2>&1 &
PIDS+=($!)
"$JAVA" @"$ROOT/jvm.options" -Dquarkus.http.port="$SINGLE_PORT" -Dquarkus.log.level=WARN -jar "$WORKER_JAR" \
  >"$LOGS/single.log" 2>&1 &
PIDS+=($!)

if [[ " ${SIDES[*]} " == *" nginx "* ]]; then
  mkdir -p "$LOGS/nginx-tmp"
  cat >"$LOGS/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $LOGS/nginx.pid;
error_log $LOGS/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $LOGS/nginx-tmp/body; proxy_temp_path $LOGS/nginx-tmp/proxy;
  fastcgi_temp_path $LOGS/nginx-tmp/fcgi; uwsgi_temp_path $LOGS/nginx-tmp/uwsgi; scgi_temp_path $LOGS/nginx-tmp/scgi;
  upstream single { server 127.0.0.1:$SINGLE_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / { proxy_pass http://single; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
  nginx -c "$LOGS/nginx.conf" -p "$LOGS" >"$LOGS/nginx.log" 2>&1 &
  PIDS+=($!)
fi

wait_up() { for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$1/v1/echo?msg=up" >/dev/null && return 0; sleep 0.2; done
            echo "no answer on port $1; logs in $LOGS" >&2; exit 1; }
wait_up "$MESH_PORT"; wait_up "$SINGLE_PORT"
[[ " ${SIDES[*]} " == *" nginx "* ]] && wait_up "$PROXY_PORT"
for _ in $(seq 1 100); do
  [ "$(curl -fs "http://127.0.0.1:$ADMIN_PORT/status" | grep -c '"role" : "edge"')" = "$WORKERS" ] \
    && [ "$(curl -fs "http://127.0.0.1:$ADMIN_PORT/status" | grep -c '"state" : "starting"')" = 0 ] && break; sleep 0.2
done

run_wrk() { wrk -t"$THREADS" -c"$CONNS" -d"$2"s --latency "http://127.0.0.1:$1/v1/echo?msg=bench"; }
# "Requests/sec: N" and the latency distribution lines "50% 1.23ms"
rps() { awk '/Requests\/sec/ {print $2}'; }
pct() { awk -v p="$1" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'; }

echo "warm-up ($DURATION s each)..." >&2
port_of() { case $1 in mesh) echo "$MESH_PORT";; single) echo "$SINGLE_PORT";; nginx) echo "$PROXY_PORT";; esac; }
for side in "${SIDES[@]}"; do run_wrk "$(port_of "$side")" "$DURATION" >/dev/null; done

declare -A SUM_RPS SUM_P50 SUM_P99
for side in "${SIDES[@]}"; do SUM_RPS[$side]=0; SUM_P50[$side]=0; SUM_P99[$side]=0; done
for round in $(seq 1 "$ROUNDS"); do
  for side in "${SIDES[@]}"; do
    port=$(port_of "$side")
    out=$(run_wrk "$port" "$DURATION")
    r=$(rps <<<"$out"); p50=$(pct 50% <<<"$out"); p99=$(pct 99% <<<"$out")
    printf 'round %d %-6s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' "$round" "$side" "$r" "$p50" "$p99"
    SUM_RPS[$side]=$(awk -v a="${SUM_RPS[$side]}" -v b="$r" 'BEGIN{print a+b}')
    SUM_P50[$side]=$(awk -v a="${SUM_P50[$side]}" -v b="$p50" 'BEGIN{print a+b}')
    SUM_P99[$side]=$(awk -v a="${SUM_P99[$side]}" -v b="$p99" 'BEGIN{print a+b}')
  done
done
echo
printf '%-28s %12s %10s %10s\n' "GET /v1/echo, keep-alive" "req/s" "p50 ms" "p99 ms"
for side in "${SIDES[@]}"; do
  case $side in
    mesh) label="mesh ($WORKERS workers, one fd)";; single) label="single Quarkus process";;
    nginx) label="nginx proxy -> single";;
  esac
  awk -v l="$label" -v r="${SUM_RPS[$side]}" -v a="${SUM_P50[$side]}" -v b="${SUM_P99[$side]}" -v n="$ROUNDS" \
    'BEGIN{printf "%-28s %12.0f %10.3f %10.3f\n", l, r/n, a/n, b/n}'
done
awk -v m="${SUM_RPS[mesh]}" -v s="${SUM_RPS[single]}" 'BEGIN{printf "throughput ratio mesh/single: %.2fx\n", m/s}'
[[ " ${SIDES[*]} " == *" nginx "* ]] && awk -v m="${SUM_RPS[mesh]}" -v s="${SUM_RPS[nginx]}" \
  'BEGIN{printf "throughput ratio mesh/nginx-proxy: %.2fx\n", m/s}'
echo "settings: wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS alternating rounds after warm-up; $(nproc) cores; mesh flags: ${MESH_FLAGS:-(defaults: sandbox, broker, 1 compute)}"
