#!/usr/bin/env bash
# Lints the public API (every field, method and enum value documented), checks it
# for breaking changes against the previous commit when it existed there, and checks
# that the descriptor sets served by gRPC reflection are the ones buf builds from
# today's .proto files (`npm run proto:write` writes them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROTO=libs/contracts/proto
DESCRIPTORS=libs/contracts/descriptors
npx buf lint "$PROTO"
BASE="${PARLEY_PROTO_BASE:-HEAD~1}"
if git rev-parse --verify --quiet "$BASE" >/dev/null && git cat-file -e "$BASE:$PROTO/buf.yaml" 2>/dev/null; then
  npx buf breaking "$PROTO" --against ".git#ref=$BASE,subdir=$PROTO"
  echo "buf: lint clean, no breaking change against $BASE"
else
  echo "buf: lint clean ($BASE has no $PROTO to compare with)"
fi

# Descriptor sets with source info (so grpcurl describe shows the proto comments)
# and their imports (google.protobuf.*), as protoc would produce them.
build_descriptors() {
  local out="$1"
  mkdir -p "$out"
  npx buf build "$PROTO" --as-file-descriptor-set -o "$out/parley.binpb"
  npx buf build node_modules/grpc-health-check/proto --as-file-descriptor-set -o "$out/grpc-health.binpb"
  npx buf build libs/contracts/proto-vendor --as-file-descriptor-set -o "$out/google-rpc.binpb"
}
if [ "${1:-}" = "--write" ]; then
  build_descriptors "$DESCRIPTORS"
  echo "buf: wrote $DESCRIPTORS"
else
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  build_descriptors "$tmp"
  for f in parley.binpb grpc-health.binpb google-rpc.binpb; do
    cmp -s "$tmp/$f" "$DESCRIPTORS/$f" || { echo "$DESCRIPTORS/$f is not what buf builds from the .proto files: run npm run proto:write" >&2; exit 1; }
  done
  echo "buf: reflection descriptors up to date"
fi
