#!/usr/bin/env bash
# Runs Hub's whole test suite on a fresh machine: installs redis-server, redis-sentinel, chromium,
# node/npm (for the Node SDK check and the deploy checks, which run `npm ci` themselves), kubectl (Debian's
# kubernetes-client, for `kubectl kustomize`), promtool (Debian's prometheus), and curl and jq (the README walkthrough
# check) from Debian where they are missing, starts a throwaway Redis on 127.0.0.1:6379 when none answers,
# then runs `dotnet test` (store fault tests start redis-server and redis-sentinel processes of
# their own). Extra arguments go to dotnet test (e.g. --filter "FullyQualifiedName~Sandbox").
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export HUB_TEST_REDIS="${HUB_TEST_REDIS:-127.0.0.1:6379}"
host="${HUB_TEST_REDIS%:*}"; port="${HUB_TEST_REDIS##*:}"
if ! redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
  echo "Starting redis-server on $host:$port..."
  redis-server --bind "$host" --port "$port" --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h "$host" -p "$port" ping >/dev/null || { echo "Redis at $HUB_TEST_REDIS does not answer." >&2; exit 1; }

export HUB_TEST_CHROMIUM="${HUB_TEST_CHROMIUM:-$(command -v chromium || true)}"
dotnet test Hub.sln --logger "console;verbosity=normal" "$@"
