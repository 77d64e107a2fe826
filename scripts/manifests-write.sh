#!/usr/bin/env bash
# `npm run manifests:write`: the chart rendered with its defaults into
# deploy/kubernetes/parley.yaml, for those who apply plain manifests (kubectl
# apply -f, kustomize) instead of Helm. npm test checks the file is current and
# validates it with the chart's other renderings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The helm npm test builds, when there is no other.
helm="${PARLEY_HELM:-$([ -x .cache/go-bin/helm ] && echo .cache/go-bin/helm || echo helm)}"
{
  echo "# Rendered from helm/parley with its default values (npm run manifests:write); do not edit."
  echo "# Create the Secrets named in helm/parley/values.yaml first, then: kubectl apply -f deploy/kubernetes/parley.yaml"
  "$helm" template parley helm/parley --kube-version 1.37.0
} > deploy/kubernetes/parley.yaml
echo "deploy/kubernetes/parley.yaml written"
