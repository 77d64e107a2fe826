#!/usr/bin/env bash
# Runs a command with Kafka and FerretDB available: uses PARLEY_KAFKA_BROKERS and
# PARLEY_MONGO_URL when set, otherwise starts both locally and stops them after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PARLEY_KAFKA_BROKERS:-}" ] || [ -z "${PARLEY_MONGO_URL:-}" ]; then
  export PARLEY_INFRA_STARTED_FILE; PARLEY_INFRA_STARTED_FILE="$(mktemp)"
  trap 'deploy/local/infra.sh down; rm -f "$PARLEY_INFRA_STARTED_FILE"' EXIT
  deploy/local/infra.sh up >/dev/null
  eval "$(deploy/local/infra.sh env | sed 's/^/export /')"
fi
"$@"
