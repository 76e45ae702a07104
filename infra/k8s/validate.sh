#!/usr/bin/env bash
# Usage: infra/k8s/validate.sh [manifest files or folders]   (default: infra/k8s/*.yaml)
#
# Validates the Kubernetes manifests strictly (kubeconform -strict: no unknown field, no duplicate
# key, every resource must have a schema) against real schemas, built offline from the package
# registries only:
#   - Strimzi's CRDs, regenerated from Maven Central: io.strimzi:api 0.51.0 (the model classes)
#     run through io.strimzi:crd-generator 1.2.0 (a shaded jar: it carries fabric8, Jackson and
#     the crd-annotations) on Java 21+, with the arguments of Strimzi's own build (api/pom.xml
#     at tag 0.51.0). The output must equal Strimzi's released files
#     (packaging/install/cluster-operator/04*-Crd-*.yaml at 0.51.0): their sha256 sums are pinned
#     in strimzi-0.51.0-crds.sha256, and any difference fails the run.
#   - converted to JSON schemas by kubeconform's scripts/openapi2jsonschema.py (from the Go
#     module github.com/yannh/kubeconform v0.8.0), with additionalProperties: false everywhere,
#     the root included;
#   - the built-in kinds from the PyPI package kubernetes-validate 1.37.0
#     (kubernetes-json-schema/v1.37.0-local-strict), their references to _definitions.json made
#     file-relative so that they resolve on disk instead of at kubernetes.io;
#   - kubeconform v0.8.0 (go install).
# Everything is cached under infra/k8s/.validate-cache (gitignored; $VGMFLOW_K8S_CACHE moves
# it): a second run only runs kubeconform. Exits non-zero on any invalid manifest.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${VGMFLOW_K8S_CACHE:-$HERE/.validate-cache}"

STRIMZI_API=0.51.0
CRD_GENERATOR=1.2.0
KUBECONFORM=v0.8.0
K8S_SCHEMAS=v1.37.0-local-strict

say() { printf '[validate-k8s] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

mkdir -p "$CACHE"

# --- Java 21 or newer (crd-generator 1.2.0 is built for 21) ---------------------------------
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p'; }
find_java() {
  local j v
  for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [[ -x "$j" ]] || continue
    v="$(java_major "$j")"
    if [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 21)); then
      echo "$j"
      return 0
    fi
  done
  return 1
}

# --- Strimzi's CRDs --------------------------------------------------------------------------
M2="$CACHE/m2"
API_JAR="$M2/io/strimzi/api/$STRIMZI_API/api-$STRIMZI_API.jar"
GEN_JAR="$M2/io/strimzi/crd-generator/$CRD_GENERATOR/crd-generator-$CRD_GENERATOR.jar"
CRDS="$CACHE/strimzi-$STRIMZI_API-crds-by-$CRD_GENERATOR"

fetch_jar() {
  local artifact="$1" jar="$2"
  [[ -s "$jar" ]] && return 0
  say "mvn dependency:get $artifact"
  nice -n 10 mvn -q -B -Dmaven.repo.local="$M2" dependency:get -Dtransitive=false -Dartifact="$artifact" >"$CACHE/mvn.log" 2>&1 || {
    tail -n 20 "$CACHE/mvn.log" >&2
    die "could not fetch $artifact from Maven Central (log: $CACHE/mvn.log)"
  }
  [[ -s "$jar" ]] || die "$artifact fetched, but $jar is missing"
}

# Strimzi's build (api/pom.xml, exec-maven-plugin) makes its install CRDs in three runs of
# io.strimzi.crdgenerator.CrdGenerator; the same runs here, one output folder.
generate_crds() {
  local java="$1" out="$2" m=io.strimzi.api.kafka.model
  local cp="$API_JAR:$GEN_JAR"
  local common=(--label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ --crd-api-version v1)
  nice -n 10 "$java" -cp "$cp" io.strimzi.crdgenerator.CrdGenerator "${common[@]}" \
    --api-versions v1beta2,v1 --storage-version v1beta2 --yaml \
    "$m.connect.KafkaConnect=$out/041-Crd-kafkaconnect.yaml" \
    "$m.bridge.KafkaBridge=$out/046-Crd-kafkabridge.yaml" \
    "$m.connector.KafkaConnector=$out/047-Crd-kafkaconnector.yaml" \
    "$m.mirrormaker2.KafkaMirrorMaker2=$out/048-Crd-kafkamirrormaker2.yaml" \
    "$m.rebalance.KafkaRebalance=$out/049-Crd-kafkarebalance.yaml" \
    "$m.podset.StrimziPodSet=$out/042-Crd-strimzipodset.yaml" \
    "$m.nodepool.KafkaNodePool=$out/045-Crd-kafkanodepool.yaml"
  # Kafka without descriptions (its size), as Strimzi ships it.
  nice -n 10 "$java" -cp "$cp" io.strimzi.crdgenerator.CrdGenerator "${common[@]}" \
    --api-versions v1beta2,v1 --describe-api-versions v1alpha1 --storage-version v1beta2 --yaml \
    "$m.kafka.Kafka=$out/040-Crd-kafka.yaml"
  # KafkaTopic and KafkaUser keep their older versions.
  nice -n 10 "$java" -cp "$cp" io.strimzi.crdgenerator.CrdGenerator "${common[@]}" \
    --api-versions v1alpha1,v1beta1,v1beta2,v1 --storage-version v1beta2 --yaml \
    "$m.topic.KafkaTopic=$out/043-Crd-kafkatopic.yaml" \
    "$m.user.KafkaUser=$out/044-Crd-kafkauser.yaml"
}

strimzi_crds() {
  [[ -f "$CRDS/.complete" ]] && return 0
  local java
  java="$(find_java)" || die "no Java 21 or newer found (JAVA_HOME, /usr/lib/jvm, PATH): crd-generator $CRD_GENERATOR needs one"
  command -v mvn >/dev/null 2>&1 || die "mvn not found"
  fetch_jar "io.strimzi:api:$STRIMZI_API" "$API_JAR"
  fetch_jar "io.strimzi:crd-generator:$CRD_GENERATOR" "$GEN_JAR"
  say "regenerating Strimzi $STRIMZI_API's CRDs with crd-generator $CRD_GENERATOR on $java"
  rm -rf "$CRDS.tmp"
  mkdir -p "$CRDS.tmp"
  generate_crds "$java" "$CRDS.tmp" >"$CACHE/crd-generator.log" 2>&1 || {
    tail -n 20 "$CACHE/crd-generator.log" >&2
    die "crd-generator failed (log: $CACHE/crd-generator.log)"
  }
  # Equal to the released files, byte for byte, or no validation.
  (cd "$CRDS.tmp" && sha256sum --quiet -c "$HERE/strimzi-$STRIMZI_API-crds.sha256") >&2 \
    || die "the regenerated CRDs differ from Strimzi $STRIMZI_API's released ones (strimzi-$STRIMZI_API-crds.sha256)"
  touch "$CRDS.tmp/.complete"
  rm -rf "$CRDS"
  mv "$CRDS.tmp" "$CRDS"
}

# --- kubeconform and openapi2jsonschema.py (one Go module) -----------------------------------
KUBECONFORM_BIN="$CACHE/bin/kubeconform"
GOMODCACHE_DIR="$CACHE/gomod"
OPENAPI2JSONSCHEMA="$GOMODCACHE_DIR/github.com/yannh/kubeconform@$KUBECONFORM/scripts/openapi2jsonschema.py"

kubeconform_tool() {
  # `kubeconform -v` says "development" when built by go install: the module version is in the binary.
  if [[ -x "$KUBECONFORM_BIN" && -f "$OPENAPI2JSONSCHEMA" ]] \
    && go version -m "$KUBECONFORM_BIN" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/yannh/kubeconform[[:space:]]+$KUBECONFORM[[:space:]]"; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "go not found: kubeconform is installed with go install"
  say "go install github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM"
  # -modcacherw: a module cache that rm -rf can remove.
  GOBIN="$CACHE/bin" GOMODCACHE="$GOMODCACHE_DIR" GOFLAGS="-buildvcs=false -modcacherw" \
    nice -n 10 go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM" >&2 \
    || die "go install of kubeconform $KUBECONFORM failed"
  [[ -f "$OPENAPI2JSONSCHEMA" ]] || die "$OPENAPI2JSONSCHEMA missing from the module"
}

# --- the schema folder kubeconform reads -----------------------------------------------------
SCHEMAS="$CACHE/schemas-strimzi-$STRIMZI_API-k8s-$K8S_SCHEMAS-kubeconform-$KUBECONFORM"

schemas() {
  [[ -f "$SCHEMAS/.complete" ]] && return 0
  local python
  python="$(bash "$ROOT/infra/local/python-venv.sh" "$CACHE/venv" "$HERE/requirements.txt")"
  say "writing JSON schemas to $SCHEMAS"
  rm -rf "$SCHEMAS.tmp"
  mkdir -p "$SCHEMAS.tmp"
  # Built-in kinds. Their $refs point at /api/_definitions.json under their $id
  # (https://kubernetes.io/api/...), which kubeconform would try to download: without the $id,
  # and with the path made relative, they resolve to the _definitions.json beside them.
  "$python" - "$K8S_SCHEMAS" "$SCHEMAS.tmp" <<'PY'
import json, os, sys
import kubernetes_validate
version, out = sys.argv[1], sys.argv[2]
src = os.path.join(os.path.dirname(kubernetes_validate.__file__), 'kubernetes-json-schema', version)
def relative(node):
    if isinstance(node, dict):
        return {k: (v.replace('/api/_definitions.json#', '_definitions.json#') if k == '$ref' and isinstance(v, str) else relative(v))
                for k, v in node.items() if k != '$id'}
    if isinstance(node, list):
        return [relative(v) for v in node]
    return node
count = 0
for name in sorted(os.listdir(src)):
    if not name.endswith('.json') or name == 'all.json':
        continue
    with open(os.path.join(src, name)) as f:
        schema = json.load(f)
    with open(os.path.join(out, name), 'w') as f:
        json.dump(relative(schema), f)
    count += 1
if count < 100:
    sys.exit(f'only {count} schemas in {src}')
PY
  # Strimzi's kinds, named as kubeconform looks them up: <kind>-<first part of group>-<version>.json.
  (cd "$SCHEMAS.tmp" && FILENAME_FORMAT='{kind}-{group}-{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 \
    "$python" "$OPENAPI2JSONSCHEMA" "$CRDS"/*.yaml >/dev/null) || die "openapi2jsonschema.py failed"
  [[ -f "$SCHEMAS.tmp/kafkauser-kafka-v1.json" ]] || die "openapi2jsonschema.py wrote no kafkauser-kafka-v1.json"
  touch "$SCHEMAS.tmp/.complete"
  rm -rf "$SCHEMAS"
  mv "$SCHEMAS.tmp" "$SCHEMAS"
}

strimzi_crds
kubeconform_tool
schemas

if (($# == 0)); then set -- "$HERE"/*.yaml; fi
say "kubeconform -strict $*"
# No -ignore-missing-schemas: a kind without a schema is an error too.
"$KUBECONFORM_BIN" -strict -summary -output text \
  -schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  "$@"
