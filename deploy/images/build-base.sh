#!/usr/bin/env bash
# Builds shmesh-base:25, the local base image of the shmesh image, without pulling anything:
#   a jlink-ed Java 25 runtime (from $JAVA_HOME) at /opt/java/openjdk, exactly the shared libraries it and
#   the JNI libraries the apps extract at run time (Netty epoll, junixsocket, brotli4j) need, libseccomp,
#   the dynamic loader, /etc/passwd + /etc/group with user shmesh (10001:10001), /tmp (1777) and
#   /run/shmesh (10001, 0700). No shell, no package manager, no coreutils.
#
#   deploy/images/build-base.sh [TAG]      TAG defaults to shmesh-base:25
#
# Needs: docker, a JDK 25 with jlink (JAVA_HOME or ./shmesh's search), ldd (libc-bin), unzip or the JDK's jar
# tool, and the built apps (./shmesh build) so the JNI libraries inside their jars can be inspected.
# SHMESH_BASE_CDS=0 skips the class-data-sharing archive (14 MB smaller, ~0.3 s slower JVM start).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TAG="${1:-shmesh-base:25}"
APP_UID=10001
APP_GID=10001
JAVA_DIR=/opt/java/openjdk

# Modules: `jdeps -s` over every jar in gateway/ and worker/ quarkus-app finds java.base, java.logging,
# java.management, java.naming, java.sql, jdk.management, jdk.unsupported (plus java.desktop, java.compiler,
# jdk.compiler, reached only from code paths the apps never run: java.beans in micrometer/quarkus-core, the
# Vert.x code generators). The rest are what Netty, gRPC, TLS and Quarkus load reflectively or by service
# lookup: java.net.http, java.security.jgss, java.xml, java.instrument, jdk.crypto.ec, jdk.net (Netty's
# extended socket options), jdk.zipfs (Quarkus reads jars as file systems), jdk.charsets, jdk.localedata
# is left out (English-only logs and formats).
MODULES="java.base,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.sql,\
java.xml,java.instrument,jdk.crypto.ec,jdk.unsupported,jdk.management,jdk.net,jdk.zipfs,jdk.charsets"

die() { printf 'build-base: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || die "docker is not installed. Install Docker Engine (Debian: apt-get install docker.io) and start it."
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info failed). Start it (systemctl start docker) or check DOCKER_HOST."
command -v ldd >/dev/null || die "ldd is missing (Debian: apt-get install libc-bin)."

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/jlink" ]; then
  for c in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/java-25-openjdk-amd64 \
           /usr/lib/jvm/java-25-openjdk-arm64 /opt/java/openjdk; do
    if [ -x "$c/bin/jlink" ]; then JAVA_HOME="$c"; break; fi
  done
fi
[ -x "${JAVA_HOME:-}/bin/jlink" ] || die "no JDK with jlink found; set JAVA_HOME to a JDK 25."
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25' || die "JAVA_HOME=$JAVA_HOME is not a JDK 25."

APPS=("$ROOT/gateway/target/quarkus-app" "$ROOT/worker/target/quarkus-app")
for a in "${APPS[@]}"; do
  [ -f "$a/quarkus-run.jar" ] || die "$a is missing: build the apps first (./shmesh build), or use ./shmesh images."
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shmesh-base.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"

# --- 1. the Java runtime -------------------------------------------------------------------------------
echo "build-base: jlink $MODULES" >&2
mkdir -p "$ROOTFS$(dirname "$JAVA_DIR")"
cds=(--generate-cds-archive)
[ "${SHMESH_BASE_CDS:-1}" = 0 ] && cds=()
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" \
  --strip-debug --no-man-pages --no-header-files --compress=zip-6 "${cds[@]}" \
  --output "$ROOTFS$JAVA_DIR" >&2
# The no-compressed-oops archive serves only heaps over 32 GB; a mesh JVM never has one.
rm -f "$ROOTFS$JAVA_DIR/lib/server/classes_nocoops.jsa"
# keytool and jrunscript-like tools are not needed to run the apps; java is the only command.
find "$ROOTFS$JAVA_DIR/bin" -type f ! -name java -delete

# --- 2. shared libraries -------------------------------------------------------------------------------
# Every ELF object that will be loaded: the runtime's own, and the JNI libraries the apps extract to
# java.io.tmpdir when they start (Netty epoll, junixsocket, brotli4j), taken from the jars themselves.
NATIVE="$WORK/native"
mkdir -p "$NATIVE"
for a in "${APPS[@]}"; do
  for jar in "$a"/lib/main/*.jar; do
    case "$(basename "$jar")" in
      *netty-transport-native-*linux*|*junixsocket-native*|*brotli4j.native-linux*) ;;
      *) continue ;;
    esac
    d="$NATIVE/$(basename "$jar" .jar)"
    mkdir -p "$d"
    (cd "$d" && "$JAVA_HOME/bin/jar" xf "$jar")
  done
done

libs="$WORK/libs.txt"
: > "$libs"
scan() { # scan FILE: record the absolute paths of the libraries FILE needs; fail on "not found"
  local out
  # the runtime's own libraries (libjvm.so, libjava.so, ...) resolve inside the image: look there first
  out="$(LD_LIBRARY_PATH="$ROOTFS$JAVA_DIR/lib:$ROOTFS$JAVA_DIR/lib/server" ldd "$1" 2>&1)" || { case "$out" in *"not a dynamic executable"*|*"statically linked"*) return 0 ;; esac; }
  # Foreign-arch JNI libraries (junixsocket ships many) cannot be resolved here and are never loaded.
  if grep -q "not found" <<<"$out"; then
    echo "build-base: $1 needs a library this host lacks:" >&2; grep "not found" <<<"$out" >&2; exit 1
  fi
  sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' <<<"$out" \
    | grep -v "^$ROOTFS" >> "$libs" || true
}
while IFS= read -r -d '' so; do scan "$so"; done \
  < <(find "$ROOTFS$JAVA_DIR" -type f \( -name '*.so' -o -path '*/bin/java' \) -print0)
arch_dir="$(uname -m)"
case "$arch_dir" in x86_64) jni_arch='amd64-Linux|x86_64' ;; aarch64) jni_arch='aarch64-Linux|aarch_64' ;; *) jni_arch="$arch_dir" ;; esac
while IFS= read -r -d '' so; do
  # only this architecture's JNI builds
  if grep -Eq "($jni_arch)" <<<"$so"; then scan "$so"; fi
done < <(find "$NATIVE" -type f -name '*.so' -print0)
# libseccomp: the in-JVM filter loads it through FFM by name; libgcc_s: glibc dlopens it for thread
# cancellation and unwinding (pthread_exit); neither shows up in any ldd output.
for extra in libseccomp.so.2 libgcc_s.so.1; do
  p="$(ldconfig -p | awk -v n="$extra" '$1 == n && /x86-64|AArch64|64bit/ {print $NF; exit}')"
  [ -z "$p" ] && p="$(ldconfig -p | awk -v n="$extra" '$1 == n {print $NF; exit}')"
  if [ -n "$p" ]; then echo "$p" >> "$libs"; scan "$p"
  elif [ "$extra" = libseccomp.so.2 ]; then
    die "libseccomp.so.2 is not installed on this host (Debian: apt-get install libseccomp2); workers need it for their seccomp filter."
  fi
done

# Copy each library to the path the loader asks for and to its real path, keeping the host's layout
# (merged /usr on Debian 12: /lib -> usr/lib, /lib64 -> usr/lib64).
for d in lib lib64 bin sbin; do
  if [ -L "/$d" ]; then
    t="$(readlink "/$d")"
    case "$t" in /*) t="${t#/}" ;; esac
    mkdir -p "$ROOTFS/$t"
    ln -s "$t" "$ROOTFS/$d"
  fi
done
sort -u "$libs" | while IFS= read -r lib; do
  real="$(readlink -f "$lib")"
  mkdir -p "$ROOTFS$(dirname "$real")"
  cp -L "$real" "$ROOTFS$real"
  if [ "$lib" != "$real" ]; then
    mkdir -p "$ROOTFS$(dirname "$lib")"
    [ -e "$ROOTFS$lib" ] || ln -s "$real" "$ROOTFS$lib"
  fi
done
# the soname links ldconfig would make, e.g. libseccomp.so.2 -> libseccomp.so.2.5.4
sort -u "$libs" | while IFS= read -r lib; do
  base="$(basename "$lib")"; real="$(readlink -f "$lib")"
  [ -e "$ROOTFS$(dirname "$real")/$base" ] || ln -s "$(basename "$real")" "$ROOTFS$(dirname "$real")/$base"
done

# --- 3. the rest of the file system --------------------------------------------------------------------
mkdir -p "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/run/shmesh" "$ROOTFS/app" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev"
chmod 1777 "$ROOTFS/tmp"
chown "$APP_UID:$APP_GID" "$ROOTFS/run/shmesh"
chmod 0700 "$ROOTFS/run/shmesh"
cat > "$ROOTFS/etc/passwd" <<EOF
root:x:0:0:root:/nonexistent:/sbin/nologin
shmesh:x:$APP_UID:$APP_GID:shmesh:/nonexistent:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat > "$ROOTFS/etc/group" <<EOF
root:x:0:
shmesh:x:$APP_GID:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf"

# --- 4. import -----------------------------------------------------------------------------------------
# docker import takes a rootfs tarball: nothing is pulled, no FROM line is resolved.
echo "build-base: importing $TAG" >&2
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
  -c "ENV JAVA_HOME=$JAVA_DIR" \
  -c "ENV PATH=$JAVA_DIR/bin:/usr/local/bin:/usr/bin:/bin" \
  -c "ENV LANG=C.UTF-8" \
  -c "USER $APP_UID:$APP_GID" \
  -c "WORKDIR /app" \
  -c 'ENTRYPOINT ["java"]' \
  -m "shmesh base: jlink-ed Java 25 runtime, its shared libraries, user shmesh $APP_UID; no shell" \
  - "$TAG" >/dev/null
docker image inspect -f "build-base: $TAG {{.Id}} {{.Size}} bytes" "$TAG" >&2
