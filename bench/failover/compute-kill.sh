#!/usr/bin/env bash
# How fast the mesh takes back the jobs of a SIGKILLed compute worker.
#
# Starts a mesh (1 edge, 2 computes, leases of 10 minutes so that a deadline can never be what brings jobs back),
# stops both computes, queues N digest jobs of 60 KB, lets compute-1 run for KILL_AFTER seconds and SIGKILLs it
# (usually while it holds leased jobs, sometimes inside the ring's poll), resumes compute-2, and reports:
#   - kill -> the gateway logs the exit;  kill -> the broker logs that it took the jobs back;
#   - the HTTP status of every call (all 200: each job answered, to its own caller).
# Usage: bench/failover/compute-kill.sh [-n jobs] [-k kill_after_seconds] [-r rounds]
# Needs: ./shmesh build (gateway and worker jars), curl, python3. Ports 18480/19901 on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
N=40; KILL_AFTER=0.003; ROUNDS=3
while getopts "n:k:r:" o; do case "$o" in n) N=$OPTARG ;; k) KILL_AFTER=$OPTARG ;; r) ROUNDS=$OPTARG ;; *) exit 2 ;; esac; done
ADMIN=127.0.0.1:19901; PORT=18480
status() { curl -fsS --max-time 2 "http://$ADMIN/status"; }
pid_of() { status | python3 -c "import json,sys; print([w['pid'] for w in json.load(sys.stdin)['workers'] if w['id']=='$1'][0])"; }
WORK=$(mktemp -d); LOG=$WORK/gateway.log
cleanup() { [ -n "${GW:-}" ] && kill -TERM "$GW" 2> /dev/null && wait "$GW" 2> /dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
"$JAVA" @"$ROOT/jvm.options" -Dshmesh.worker.jvm-options="$ROOT/jvm.options" \
  -Dshmesh.worker.jar="$ROOT/worker/target/quarkus-app/quarkus-run.jar" \
  -Dshmesh.worker.jvm-args=-Dshmesh.compute.lease-ms=600000 \
  -jar "$ROOT/gateway/target/quarkus-app/quarkus-run.jar" --port $PORT --admin-port 19901 \
  --run-dir "$WORK/run" --workers 1 --computes 2 --mesh "kill$$" > "$LOG" 2>&1 &
GW=$!
for _ in $(seq 1 120); do
  [ "$(status 2> /dev/null | grep -o '"state":"ready"' | wc -l)" -ge 4 ] && break; sleep 0.5
done
head -c 60000 /dev/urandom > "$WORK/data"
for round in $(seq 1 "$ROUNDS"); do
  c1=$(pid_of compute-1); c2=$(pid_of compute-2)
  kill -STOP "$c1" "$c2"
  : > "$WORK/codes"
  pids=()
  for _ in $(seq 1 "$N"); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H 'content-type: application/octet-stream' \
      --data-binary @"$WORK/data" "http://127.0.0.1:$PORT/v1/digest?alg=sha3-256" >> "$WORK/codes" &
    pids+=($!)
  done
  sleep 1
  before=$(grep -c "took back" "$LOG" || true)
  kill -CONT "$c1"; sleep "$KILL_AFTER"; kill -KILL "$c1"; killed=$(date -u +%s.%N)
  kill -CONT "$c2"
  wait "${pids[@]}"
  sleep 0.5
  python3 - "$LOG" "$killed" "$before" "$WORK/codes" "$round" <<'PY'
import sys, re, datetime, collections
log, killed, before, codes, rnd = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
day = datetime.datetime.fromtimestamp(killed, datetime.timezone.utc).strftime("%Y-%m-%d")
def at(line):
    t = datetime.datetime.strptime(day + " " + line[:12], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return (t.timestamp() - killed) * 1000
lines = open(log).read().splitlines()
exit_ms = [at(l) for l in lines if "compute-1 (pid" in l and "exited" in l]
took = [l for l in lines if "took back" in l][before:]
exit_text = f"{exit_ms[-1]:.0f} ms" if exit_ms else "-"
if took:
    print(f"round {rnd}: gateway saw the exit {exit_text} after the kill; the broker took the jobs back "
          f"{at(took[0]):.0f} ms after the kill: {took[0].split('took back ')[1]}")
else:
    print(f"round {rnd}: gateway saw the exit {exit_text} after the kill; the broker took nothing back")
print("  calls:", dict(collections.Counter(open(codes).read().split())))
PY
  for _ in $(seq 1 120); do  # compute-1 back before the next round
    [ "$(status | python3 -c "import json,sys; print([w['state'] for w in json.load(sys.stdin)['workers'] if w['id']=='compute-1'][0])")" = ready ] && break
    sleep 0.5
  done
done
