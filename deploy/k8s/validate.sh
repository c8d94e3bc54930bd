#!/usr/bin/env bash
# Offline schema check of deploy/k8s: Kubernetes' OpenAPI schemas (kubernetes-models 5.1.0, installed pinned from the
# npm registry into deploy/k8s/validate/node_modules on the first run) plus FeedbackHub's own rules; see
# deploy/k8s/validate/validate.mjs for exactly what is checked and what is not. No cluster, no kubectl.
# Usage: deploy/k8s/validate.sh [DIR]   (default: deploy/k8s). Exit 0 when every document passes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="$(cd "${1:-$HERE}" && pwd)"
command -v node >/dev/null || { echo "validate.sh: node is needed (Node.js 20+)" >&2; exit 2; }
if [[ ! -d "$HERE/validate/node_modules/kubernetes-models" ]]; then
  (cd "$HERE/validate" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 || npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
cd "$HERE/validate" && node validate.mjs "$DIR"
