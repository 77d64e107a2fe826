#!/usr/bin/env bash
# Assembles what one service's container image holds, from a built checkout
# (`npm ci && npx tsc -b`): the production dependencies npm resolved (no dev
# tools, no sources), the compiled workspace libraries and the service itself.
# The Dockerfiles run it in their build stage; `npm test` runs it too and starts
# the service from the tree, so an image that would miss a file fails a test here
# even on a machine without a Docker engine.
#   scripts/image-tree.sh <history|availability|routing|ingress> <output folder>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
service="${1:?service}"; out="${2:?output folder}"
[ -f "services/$service/dist/main.js" ] || { echo "services/$service is not built (npx tsc -b)" >&2; exit 1; }
mkdir -p "$out/node_modules/@parley"
cp package.json "$out/"

# Top-level production packages only: each carries its own nested node_modules.
# IMAGE_TREE_LINK=true hard-links instead of copying (tests; it copies where links cannot be made).
copy="cp -a"; [ "${IMAGE_TREE_LINK:-}" = true ] && copy="cp -al"
npm ls --omit=dev --parseable --all 2>/dev/null \
  | sed -n "s#^$PWD/##p" | grep -E '^node_modules/(@[^/]+/)?[^/]+$' | grep -v '^node_modules/@parley/' | sort -u \
  | while read -r dir; do mkdir -p "$out/$(dirname "$dir")"; $copy "$dir" "$out/$dir" 2>/dev/null || cp -a "$dir" "$out/$dir"; done

# Workspace packages: compiled code and the files they read at run time, no tests or sources.
copy_workspace() {
  local dir="$1" name
  name="$(node -p "require('./$dir/package.json').name")"
  mkdir -p "$out/$dir"
  tar -C "$dir" -c --exclude=src --exclude=node_modules --exclude='*.spec.*' --exclude='*.map' --exclude='.tsbuildinfo' \
    --exclude='tsconfig*.json' --exclude=bench --exclude=testing --exclude=test . | tar -C "$out/$dir" -x
  ln -sfn "../../$dir" "$out/node_modules/$name"
}
for lib in libs/*/; do copy_workspace "${lib%/}"; done
copy_workspace "services/$service"
echo "$out: $(du -sh "$out" | cut -f1)"
