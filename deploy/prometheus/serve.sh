#!/usr/bin/env bash
# Starts Prometheus over the Rein runs under one or more run.output_dir folders, from any
# working directory, with the alerting and recording rules of deploy/prometheus/rules.
#
#   deploy/prometheus/serve.sh [--runs DIR]... [--port P] [--listen HOST] [--data DIR]
#                              [--scrape-interval D] [--config-only] [-- PROMETHEUS_ARGS...]
#
#   --runs DIR           a run.output_dir (default: ./runs); repeatable. `reinctl up` writes each
#                        live run's targets to DIR/prometheus/<run>.json.
#   --port P             web/API port (default 9090); --listen HOST its address (127.0.0.1).
#   --data DIR           where the generated prometheus.yml and the TSDB go
#                        (default: ${XDG_STATE_HOME:-~/.local/state}/rein-prometheus).
#   --scrape-interval D  scrape and rule evaluation interval (default 5s).
#   --config-only        write DIR/prometheus.yml, print its path and exit (no server).
# Everything after `--` goes to prometheus as it is (e.g. --storage.tsdb.retention.time=30d).
#
# Why a generated file: Prometheus resolves relative file_sd and rule_files paths against the
# config file's folder and expands no environment variables there, so the checked-in
# prometheus.yml only fits runs/ at the repository root. This writes the same config with
# absolute paths.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runs=()
port=9090
listen=127.0.0.1
data="${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/rein-prometheus"
interval=5s
config_only=0
extra=()

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs+=("$2"); shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --scrape-interval) interval="$2"; shift 2 ;;
    --config-only) config_only=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "serve.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
[[ ${#runs[@]} -gt 0 ]] || runs=(./runs)

# A YAML single-quoted scalar (a quote inside is doubled), so paths with any characters are safe.
quote() { local q="'"; printf "'%s'\n" "${1//$q/$q$q}"; }

mkdir -p "$data"
data="$(cd "$data" && pwd)"
config="$data/prometheus.yml"
{
  echo "# Written by $here/serve.sh; edit that script's flags, not this file."
  echo "global:"
  echo "  scrape_interval: $interval"
  echo "  evaluation_interval: $interval"
  echo "rule_files:"
  echo "  - $(quote "$here/rules/*.yml")"
  echo "scrape_configs:"
  echo "  - job_name: rein"
  echo "    file_sd_configs:"
  echo "      - refresh_interval: $interval"
  echo "        files:"
  for dir in "${runs[@]}"; do
    mkdir -p "$dir/prometheus"
    echo "          - $(quote "$(cd "$dir" && pwd)/prometheus/*.json")"
  done
} > "$config.tmp"
mv "$config.tmp" "$config"

if [[ $config_only -eq 1 ]]; then
  echo "$config"
  exit 0
fi
exec prometheus --config.file="$config" --storage.tsdb.path="$data/tsdb" \
  --web.listen-address="$listen:$port" ${extra[@]+"${extra[@]}"}
