# Sourced by submit.sh and rein.sbatch (bash): reads what a Slurm launch needs from an
# experiment config and says which processes the run has.
#
#   rein_config_get CONFIG KEY    # e.g. rollout.replicas; the config's value, else the default
#   rein_processes CONFIG         # one line per kind of process: NAME BINARY COUNT [FLAG...]
#
# Defaults come from `reinctl config defaults` (every key, the binaries' own defaults), so
# nothing here repeats them. The reader understands the YAML experiment configs are written in:
# block mappings ("section:" lines, nested "key: value" lines), one-level flow mappings
# ("run: {name: a, seed: 1}"), comments and quoted scalars. Nested flow mappings and
# multi-line scalars are not read (no key read here needs them).
#
# Needs REIN_BIN (the folder holding reinctl).

# The scalar at dotted KEY in the YAML file FILE; exit status 1 if the key is not there.
rein_yaml_get() {
  local file=$1 key=$2
  awk -v want="${key}" '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
    /^[ \t]*(#|$)/ { next }        # comments, blank lines
    /^[ \t]*-/ { next }            # list items never hold the keys read here
    /^(---|\.\.\.)/ { next }       # document markers
    {
      match($0, /^ */); indent = RLENGTH
      rest = substr($0, indent + 1)
      colon = index(rest, ":")
      if (colon == 0) next
      name = trim(substr(rest, 1, colon - 1))
      value = trim(substr(rest, colon + 1))
      # A line closes every open mapping at its indentation or deeper.
      while (depth > 0 && indents[depth] >= indent) depth--
      depth++; indents[depth] = indent; names[depth] = name
      path = names[1]
      for (i = 2; i <= depth; i++) path = path "." names[i]
      # A one-level flow mapping: "run: {name: a, iterations: 5}".
      if (value ~ /^\{.*\}$/ && index(want, path ".") == 1) {
        n = split(substr(value, 2, length(value) - 2), pairs, ",")
        for (p = 1; p <= n; p++) {
          colon = index(pairs[p], ":")
          if (colon && path "." trim(substr(pairs[p], 1, colon - 1)) == want) {
            value = trim(substr(pairs[p], colon + 1)); path = want; break
          }
        }
      }
      if (path != want) next
      if (value ~ /^"/) { value = substr(value, 2); sub(/".*$/, "", value) }
      else if (value ~ /^\x27/) { value = substr(value, 2); sub(/\x27.*$/, "", value) }
      else { sub(/[ \t]+#.*$/, "", value) }
      print value; found = 1; exit
    }
    END { exit found ? 0 : 1 }' "${file}"
}

# Loads the defaults once (call it in the main shell: $(...) subshells would each reload them).
rein_config_init() {
  if [[ -z "${_REIN_DEFAULTS:-}" ]]; then
    _REIN_DEFAULTS=$("${REIN_BIN}/reinctl" config defaults) || {
      echo "rein: cannot run ${REIN_BIN}/reinctl config defaults (set REIN_BIN)" >&2
      return 1
    }
  fi
}

rein_config_get() {
  local config=$1 key=$2
  if rein_yaml_get "${config}" "${key}"; then return 0; fi
  rein_config_init || return 1
  rein_yaml_get - "${key}" <<<"${_REIN_DEFAULTS}"
}

# The processes of a run besides the coordinator, as `reinctl up` starts them
# (services/reinctl/local_cluster.cc): NAME BINARY COUNT [FLAGS...]. NAME-<i> is each one's
# worker id and log name; FLAGS are added to the common ones.
rein_processes() {
  local config=$1 mode rounds cost_steps rl=0 reference=0 offline=0
  mode=$(rein_config_get "${config}" learner.mode)
  rounds=$(rein_config_get "${config}" rounds.count)
  cost_steps=$(rein_config_get "${config}" rounds.cost_model.steps)
  case "${mode}" in
    sft | reward-model | cost-model) ;;
    dpo | ipo | kto) offline=1 reference=1 ;;
    *) rl=1 reference=1 ;;
  esac
  if ((rl)); then
    echo "rollout rollout $(rein_config_get "${config}" rollout.replicas) --snapshot_root"
    echo "reward reward $(rein_config_get "${config}" reward.replicas) --model_root"
  fi
  if ((reference)); then
    echo "reference reference $(rein_config_get "${config}" reference.replicas)"
  fi
  echo "learner learner $(rein_config_get "${config}" learner.ranks) --checkpoint_root"
  if ((rounds > 0 && offline)); then
    echo "rollout rollout $(rein_config_get "${config}" rollout.replicas) --snapshot_root"
    echo "feedback feedback 1"
  elif ((rounds > 0)); then
    echo "feedback feedback 1"
    echo "reward-learner learner 1 --reward_model_learner --checkpoint_root"
    if ((cost_steps > 0)); then echo "cost-learner learner 1 --cost_model_learner --checkpoint_root"; fi
  fi
}
