#!/usr/bin/env bash
# Copies this machine's architecture's JNI libraries out of the apps' jars into OUTDIR (flat):
#   Netty epoll (META-INF/native/libnetty_transport_native_epoll_<arch>.so) and junixsocket
#   (lib/<arch>-Linux-*/jni/libjunixsocket-native-<version>.so).
#   deploy/images/jni-libs.sh OUTDIR
# The image puts them in /app/native on LD_LIBRARY_PATH, which the JVM adds to java.library.path: both
# libraries look there first, so neither extracts a copy to /tmp at startup and /tmp can be mounted noexec.
# They come from the same build as the jars, so their versions always match the Java code that loads them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:?usage: jni-libs.sh OUTDIR}"
JAR="${JAVA_HOME:+$JAVA_HOME/bin/}jar"
case "$(uname -m)" in
  x86_64) netty=x86_64; junix=amd64-Linux ;;
  aarch64) netty=aarch_64; junix=aarch64-Linux ;;
  *) echo "jni-libs: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
tmp="$(mktemp -d "${TMPDIR:-/tmp}/shmesh-jni.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"; mkdir -p "$OUT"
for app in gateway worker; do
  for jar in "$ROOT/$app/target/quarkus-app/lib/main/"*.jar; do
    case "$(basename "$jar")" in
      *netty-transport-native-epoll*-linux-$netty.jar|*junixsocket-native-common*.jar) ;;
      *) continue ;;
    esac
    (cd "$tmp" && "$JAR" xf "$jar")
  done
done
find "$tmp/META-INF/native" -name "libnetty_transport_native_epoll_$netty.so" -exec cp {} "$OUT/" \; 2>/dev/null || true
find "$tmp/lib" -path "*/$junix-*/jni/*" -name 'libjunixsocket-native-*.so' ! -name '*.nodeps.so' -exec cp {} "$OUT/" \; 2>/dev/null || true
n="$(find "$OUT" -name '*.so' | wc -l)"
[ "$n" -ge 2 ] || { echo "jni-libs: expected the Netty epoll and junixsocket libraries for $(uname -m), found $n in $OUT (built apps? ./shmesh build)" >&2; exit 1; }
chmod 0644 "$OUT"/*.so
