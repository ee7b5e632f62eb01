#!/usr/bin/env bash
# Runs Hub's benchmarks and prints their tables:  bench/run.sh [facade|sync|people|faults|events|fleet|all] (all = facade, sync and people)
# Builds Hub, the sandbox and the harness in Release, starts a throwaway redis-server on
# 127.0.0.1:6379 when none answers (installing it from Debian when missing; not for faults, which
# starts its own), then runs the harness, which starts Hub and the sandbox as separate processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v redis-server >/dev/null 2>&1; then
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
fi
export HUB_BENCH_REDIS="${HUB_BENCH_REDIS:-127.0.0.1:6379}"
host="${HUB_BENCH_REDIS%:*}"; port="${HUB_BENCH_REDIS##*:}"
if [ "${1:-all}" != faults ]; then # the fault benchmark starts its own redis-server and sentinels
  redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 || redis-server --bind "$host" --port "$port" --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
dotnet build -c Release -v quiet -nologo Hub.Api/Hub.Api.csproj >/dev/null
dotnet build -c Release -v quiet -nologo Hub.Sandbox/Hub.Sandbox.csproj >/dev/null
dotnet build -c Release -v quiet -nologo bench/Hub.Bench/Hub.Bench.csproj >/dev/null
exec dotnet bench/Hub.Bench/bin/Release/net10.0/Hub.Bench.dll "${@:-all}"
