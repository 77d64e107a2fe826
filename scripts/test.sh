#!/usr/bin/env bash
# `npm test`: type-check and build, lint (module boundaries included), then every
# unit, contract and integration test against REAL Kafka and a MongoDB-compatible
# server. When PARLEY_KAFKA_BROKERS and PARLEY_MONGO_URL are not set, it starts
# Kafka 4 (KRaft) and FerretDB locally (deploy/local/infra.sh) and stops them after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export NX_DAEMON=false NX_NO_CLOUD=true NODE_ENV=test
export PARLEY_LOG_LEVEL="${PARLEY_LOG_LEVEL:-error}"

step() { printf '\n== %s\n' "$*"; }

step "build (tsc -b, from clean)"
rm -rf libs/*/dist services/*/dist
npx tsc -b

step "lint (eslint with Nx module boundaries, prettier)"
npx nx show projects >/dev/null # computes the project graph the boundary rule reads
npx eslint --max-warnings 0 .
npx prettier --check --log-level warn "**/*.{ts,js,mjs}"
bash scripts/proto-check.sh

if [ -z "${PARLEY_KAFKA_BROKERS:-}" ] || [ -z "${PARLEY_MONGO_URL:-}" ]; then
  step "infrastructure (Kafka and FerretDB on loopback)"
  export PARLEY_INFRA_STARTED_FILE; PARLEY_INFRA_STARTED_FILE="$(mktemp)"
  trap 'deploy/local/infra.sh down; rm -f "$PARLEY_INFRA_STARTED_FILE"' EXIT
  deploy/local/infra.sh up >/dev/null
  eval "$(deploy/local/infra.sh env | sed 's/^/export /')"
fi
echo "Kafka: $PARLEY_KAFKA_BROKERS  MongoDB: $PARLEY_MONGO_URL"
# A FerretDB of its own for the spec that restarts its server under a running service.
export PARLEY_FERRETDB_BIN="${PARLEY_FERRETDB_BIN:-$(deploy/local/infra.sh ferretdb-bin)}"

step "a Python gRPC client for the cross-language API test"
if [ -z "${PARLEY_PYTHON:-}" ]; then
  [ -x .cache/python-client/bin/python ] || python3 -m venv .cache/python-client
  .cache/python-client/bin/pip install -q --disable-pip-version-check -r services/history/test/python/requirements.txt
  export PARLEY_PYTHON="$PWD/.cache/python-client/bin/python"
fi

# A tool from Debian's packages, installed when missing: VAR=command, from package.
debian_tool() {
  local var="$1" command="$2" package="$3" sudo=""
  if [ -z "${!var:-}" ]; then
    if ! command -v "$command" >/dev/null; then
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      export DEBIAN_FRONTEND=noninteractive
      $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
    fi
    export "$var=$(command -v "$command")"
  fi
  echo "$command: ${!var}"
}

step "Chromium for the browser tests, promtool for the metrics and alert checks (Debian's packages)"
debian_tool PARLEY_CHROMIUM chromium chromium
debian_tool PARLEY_PROMTOOL promtool prometheus

step "helm, grpcurl and the Kubernetes schemas, from the Go module proxy"
# helm is built from its module; the schemas are the OpenAPI documents of
# Kubernetes 1.37 (k8s.io/kubernetes) and the Prometheus Operator's CRDs.
go_module_dir() { go mod download -json "$1" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}console.log(m.Dir)})'; }
if [ -z "${PARLEY_HELM:-}" ]; then
  [ -x .cache/go-bin/helm ] || GOBIN="$PWD/.cache/go-bin" GOFLAGS=-buildvcs=false go install helm.sh/helm/v3/cmd/helm@v3.22.0
  export PARLEY_HELM="$PWD/.cache/go-bin/helm"
fi
# grpcurl: the outside client the public gRPC API is tested with, through reflection only.
if [ -z "${PARLEY_GRPCURL:-}" ]; then
  [ -x .cache/go-bin/grpcurl ] || GOBIN="$PWD/.cache/go-bin" GOFLAGS=-buildvcs=false go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  export PARLEY_GRPCURL="$PWD/.cache/go-bin/grpcurl"
fi
export PARLEY_K8S_OPENAPI="${PARLEY_K8S_OPENAPI:-$(cd /tmp && go_module_dir k8s.io/kubernetes@v1.37.2)/api/openapi-spec/v3}"
export PARLEY_PROMETHEUS_OPERATOR_CRDS="${PARLEY_PROMETHEUS_OPERATOR_CRDS:-$(cd /tmp && go_module_dir github.com/prometheus-operator/prometheus-operator@v0.85.0)/example/prometheus-operator-crd}"
"$PARLEY_HELM" version --short
echo "grpcurl: $PARLEY_GRPCURL"
echo "schemas: $PARLEY_K8S_OPENAPI"

step "tests"
# Jest runs the compiled specs (jest.config.js). These run services with their
# production consumer groups (parley-routing*, parley-ingress-channels, parley-history-customer-context) on the one
# test Kafka: side by side they would take each other's work, so they run after
# the rest, one at a time.
serial=(services/ingress/dist/channels/custom-channel.spec.js services/history/dist/customers/sample-shop.spec.js services/parley/dist/stack.spec.js services/parley/dist/stack.replicas.spec.js services/routing/dist/routing.spec.js)
mkdir -p .cache
rm -f .cache/jest-parallel.json .cache/jest-serial.json
status=0
npx jest --ci --verbose --maxWorkers="${PARLEY_TEST_CONCURRENCY:-2}" --json --outputFile=.cache/jest-parallel.json --testPathIgnorePatterns /node_modules/ "${serial[@]}" || status=$?
npx jest --ci --verbose --runInBand --json --outputFile=.cache/jest-serial.json "${serial[@]}" || status=$?
node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(1)) {
  if (!fs.existsSync(file)) { failed++; continue; }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || skipped > 0 ? 1 : 0);
' .cache/jest-parallel.json .cache/jest-serial.json || status=$?
exit "$status"
