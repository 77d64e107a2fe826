#!/usr/bin/env bash
# Lints the public API (every field, method and enum value documented), and
# checks it for breaking changes against the previous commit when it existed there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROTO=libs/contracts/proto
npx buf lint "$PROTO"
BASE="${PARLEY_PROTO_BASE:-HEAD~1}"
if git rev-parse --verify --quiet "$BASE" >/dev/null && git cat-file -e "$BASE:$PROTO/buf.yaml" 2>/dev/null; then
  npx buf breaking "$PROTO" --against ".git#ref=$BASE,subdir=$PROTO"
  echo "buf: lint clean, no breaking change against $BASE"
else
  echo "buf: lint clean ($BASE has no $PROTO to compare with)"
fi
