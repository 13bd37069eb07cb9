#!/usr/bin/env bash
# bench/fuzz.sh [EXECUTIONS [FUZZER-REGEX]] — runs every Jazzer @FuzzTest in fuzzing mode, one method per JVM, for
# EXECUTIONS inputs each (default 1000000) or FUZZ_MAX_SECONDS each (default 900), whichever ends first, and prints
# executions, time and findings per fuzzer. A finding's input is written into the fuzzer's Inputs directory in this
# tree (src/test/resources/<package>/<Class>Inputs/<method>/crash-*), where `./shmesh test` replays it from then on.
#
# Jazzer 0.24.0 instruments with ASM 9.7, which reads class files up to Java 23: on classes built for Java 25 it
# instruments nothing and the fuzzer runs blind ("Is the code instrumented for coverage?"). So the fuzzers run in a
# copy of the tree (target/fuzz-tree) built with --release 23 — the same sources, javac-checked against the Java 23
# API — and this tree's build is left alone. The generated corpus stays in the copy between runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXECUTIONS="${1:-1000000}"
ONLY="${2:-.}"
MAX_SECONDS="${FUZZ_MAX_SECONDS:-900}"
TREE="$ROOT/target/fuzz-tree"
LOGS="$ROOT/target/fuzz-logs"

# module : test class # method
FUZZERS=(
  "api:dev.shmesh.api.control.ControlFramesFuzzTest#readFrames"
  "gateway:dev.shmesh.gateway.HelloCheckFuzzTest#firstFrame"
  "broker-shm:dev.shmesh.broker.RingFuzzTest#manyToOneRing"
  "broker-shm:dev.shmesh.broker.RingFuzzTest#manyToManyRing"
  "broker-shm:dev.shmesh.broker.SharedTablesFuzzTest#leaseTable"
  "broker-shm:dev.shmesh.broker.SharedTablesFuzzTest#segments"
  "grpc-shm:dev.shmesh.grpc.shm.internal.FrameReaderFuzzTest#serverReadsClientRecords"
  "grpc-shm:dev.shmesh.grpc.shm.internal.FrameReaderFuzzTest#clientReadsServerRecords"
)
MODULES="api,broker-shm,grpc-shm,gateway"

echo "fuzz: copying the tree (tracked and new files) to $TREE" >&2
mkdir -p "$TREE" "$LOGS"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$TREE" && tar -xf -)

echo "fuzz: building $MODULES for --release 23 in the copy" >&2
(cd "$TREE" && ./shmesh mvn -q -pl "$MODULES" -am test-compile -Dmaven.compiler.release=23) >"$LOGS/build.log" 2>&1 \
  || { tail -40 "$LOGS/build.log" >&2; echo "fuzz: the --release 23 build failed (see above): code that needs a newer" \
       "Java API than 23 cannot be fuzzed with Jazzer 0.24.0; a Jazzer with ASM >= 9.8 can" >&2; exit 1; }

printf '%-70s %12s %8s %9s %s\n' fuzzer executions seconds exec/s findings
status=0
for entry in "${FUZZERS[@]}"; do
  module="${entry%%:*}"; test="${entry#*:}"
  [[ "$test" =~ $ONLY ]] || continue
  class="${test%%#*}"; method="${test#*#}"
  log="$LOGS/${class##*.}.$method.log"
  # libFuzzer flags through Jazzer's JUnit runner (0.24.0 has no jazzer.max_executions: that came in 0.26.0);
  # arg.0 stands for argv[0]. -timeout: an input that runs 10 s is a finding (a hang).
  (cd "$TREE" && JAZZER_FUZZ=1 ./shmesh mvn -pl "$module" -am test -Dmaven.compiler.release=23 \
      -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.hooks=true \
      -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-runs="$EXECUTIONS" \
      -Djazzer.internal.arg.2=-max_total_time="$MAX_SECONDS" -Djazzer.internal.arg.3=-timeout=10 \
      -Djazzer.internal.arg.4=-print_final_stats=1) >"$log" 2>&1 || status=1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
  findings=$(grep -c 'Test unit written to' "$log" || true)
  rate=$([ -n "${secs:-}" ] && [ "${secs:-0}" -gt 0 ] && echo $(( ${runs:-0} / secs )) || echo -)
  if grep -q "BUILD FAILURE" "$log" && [ "$findings" -eq 0 ]; then findings="error (see $log)"; fi
  printf '%-70s %12s %8s %9s %s\n' "${class##*.}#$method" "${runs:-?}" "${secs:-?}" "$rate" "$findings"
  # findings go to the copy's Inputs directory: bring them home
  inputs="$module/src/test/resources/$(dirname "${class//.//}")/${class##*.}Inputs/$method"
  # (Jazzer writes them to the module's root while that directory does not exist yet)
  for f in "$TREE/$inputs"/{crash,timeout,slow-unit}-* "$TREE/$module"/{crash,timeout,slow-unit}-*; do
    [ -e "$f" ] && [ ! -e "$ROOT/$inputs/$(basename "$f")" ] || continue
    mkdir -p "$ROOT/$inputs" && cp "$f" "$ROOT/$inputs/" && echo "fuzz:   new finding kept: $inputs/$(basename "$f")" >&2
  done
  rm -f "$TREE/$module"/{crash,timeout,slow-unit}-*
done
echo "fuzz: logs in $LOGS" >&2
exit $status
