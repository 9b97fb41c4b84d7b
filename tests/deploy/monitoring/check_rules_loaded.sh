#!/usr/bin/env bash
# Checks that a Prometheus config loads every rule file of deploy/prometheus/rules: the
# checked-in prometheus.yml (run from another working directory, since its paths are relative
# to the file) and the config deploy/prometheus/serve.sh writes for a run.output_dir elsewhere.
#   check_rules_loaded.sh SOURCE_DIR
set -euo pipefail
src="$(cd "$1" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# promtool prints "Checking <rule file>" for each rule file the config's rule_files match (as
# an absolute path, since the config's path is absolute).
expect_all_rules() {
  local config="$1" out
  out="$(cd "$scratch" && promtool check config "$config" 2>&1)" || { echo "$out"; exit 1; }
  for rules in "$src"/deploy/prometheus/rules/*.yml; do
    if ! grep -qxF "Checking $rules" <<<"$out"; then
      echo "FAIL: $config does not load $rules"; echo "$out"; exit 1
    fi
  done
  echo "ok: $config loads every rule file"
}

expect_all_rules "$src/deploy/prometheus/prometheus.yml"
mkdir -p "$scratch/elsewhere/runs"
config="$(cd "$scratch/elsewhere" && "$src/deploy/prometheus/serve.sh" --runs runs \
  --data "$scratch/data" --config-only)"
expect_all_rules "$config"
grep -qF "'$scratch/elsewhere/runs/prometheus/*.json'" "$config" ||
  { echo "FAIL: $config does not name the absolute targets path"; cat "$config"; exit 1; }

# Negative check: a config without rule_files must fail this check.
grep -v -e '^rule_files:' -e 'rules/\*\.yml' "$config" > "$scratch/norules.yml"
if (expect_all_rules "$scratch/norules.yml") >/dev/null 2>&1; then
  echo "FAIL: the check passed a config that loads no rules"; exit 1
fi
echo "ok: a config without rule_files is caught"
