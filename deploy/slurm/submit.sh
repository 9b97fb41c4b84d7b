#!/usr/bin/env bash
# Submits deploy/slurm/rein.sbatch for an experiment config, sized from the config:
#
#   deploy/slurm/submit.sh CONFIG [--worker-nodes=W] [--learner-nodes=L] [--dry-run]
#                                 [sbatch options...]
#
# The run's processes (rollout.replicas, reward.replicas, reference.replicas, learner.ranks,
# and with rounds: rein-feedback and the reward-/cost-model learners) go on two node groups:
# W worker nodes first, then L learner nodes. By default, with model.device cuda, every task
# gets one GPU: W = ceil(worker tasks / GPUs per node), L = ceil(ranks / GPUs per node), GPUs
# per node from --gpus-per-node (given to sbatch as well; default 8); on CPUs one learner rank
# per node and every worker on one node: W = 1 (0 without workers), L = learner.ranks. The
# job asks for W + L nodes; with --nodes/-N in the sbatch options it gets that many instead
# and the groups overlap where W + L is more (e.g. -N 2 for a 2-rank run puts a rank on each
# node, the workers on the first).
#
# Everything else goes to sbatch as it is (--time, --partition, --account, --parsable, ...) and
# overrides the #SBATCH defaults in rein.sbatch. --dry-run prints the sbatch command instead.
# Environment: REIN_BIN (folder of reinctl and the rein-* binaries; default: reinctl's folder
# on PATH), REIN_RUNS (parent of the run folders, on shared storage; default
# $PWD/runs), and rein.sbatch's other REIN_* settings, all exported to the job.
set -euo pipefail

here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 64
}
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
config=$(realpath "$1")
shift

worker_nodes="" learner_nodes="" dry_run=0 nodes="" gpus_per_node=""
sbatch_options=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --worker-nodes=*) worker_nodes=${1#*=} ;;
    --learner-nodes=*) learner_nodes=${1#*=} ;;
    --worker-nodes | --learner-nodes)
      [[ $# -ge 2 ]] || usage
      if [[ $1 == --worker-nodes ]]; then worker_nodes=$2; else learner_nodes=$2; fi
      shift
      ;;
    --dry-run) dry_run=1 ;;
    *)
      # Noted (not consumed): sbatch gets them too.
      case $1 in
        --nodes=* | -N?*) nodes=${1#--nodes=}; nodes=${nodes#-N} ;;
        --nodes | -N) nodes=${2:-} ;;
        --gpus-per-node=*) gpus_per_node=${1#*=} ;;
        --gpus-per-node) gpus_per_node=${2:-} ;;
      esac
      sbatch_options+=("$1")
      ;;
  esac
  shift
done

if [[ -z ${REIN_BIN:-} ]]; then
  reinctl_path=$(command -v reinctl) || {
    echo "submit.sh: reinctl is not on PATH; set REIN_BIN to the folder of the Rein binaries" >&2
    exit 1
  }
  REIN_BIN=$(dirname "$(realpath "${reinctl_path}")")
fi
export REIN_BIN
# shellcheck source=rein-config.sh
source "${here}/rein-config.sh"
rein_config_init
# A plan needs only the YAML; a job also needs every file and model folder its config names
# (the submit host sees the shared storage the nodes use).
if ((dry_run)); then
  "${REIN_BIN}/reinctl" config check --parse-only "${config}" >&2
else
  "${REIN_BIN}/reinctl" config check "${config}" >&2
fi

ranks=0 worker_tasks=0
while read -r name _ count _; do
  case ${name} in
    learner) ranks=${count} ;;
    feedback) ;;  # beside the coordinator on the first node
    *) worker_tasks=$((worker_tasks + count)) ;;
  esac
done < <(rein_processes "${config}")

ceil_div() { echo $((($1 + $2 - 1) / $2)); }
device=$(rein_config_get "${config}" model.device)
if [[ ${device} == cuda ]]; then
  if [[ -z ${gpus_per_node} ]]; then
    gpus_per_node=${REIN_GPUS_PER_NODE:-8}
    sbatch_options=("--gpus-per-node=${gpus_per_node}" "${sbatch_options[@]}")
  fi
  per_node=$((gpus_per_node / ${REIN_GPUS_PER_TASK:-1}))
  ((per_node >= 1)) || { echo "submit.sh: fewer GPUs per node than per task" >&2; exit 1; }
  : "${worker_nodes:=$(ceil_div "${worker_tasks}" "${per_node}")}"
  : "${learner_nodes:=$(ceil_div "${ranks}" "${per_node}")}"
else
  : "${worker_nodes:=$((worker_tasks > 0 ? 1 : 0))}"
  : "${learner_nodes:=${ranks}}"
fi
if [[ -z ${nodes} ]]; then
  nodes=$((worker_nodes + learner_nodes))
  sbatch_options=("--nodes=${nodes}" "${sbatch_options[@]}")
elif [[ ${nodes} =~ ^[0-9]+$ ]]; then
  # A node count given: the groups fit in it (rein.sbatch clamps them the same way).
  worker_nodes=$((worker_nodes < nodes ? worker_nodes : nodes))
  learner_nodes=$((learner_nodes < nodes ? learner_nodes : nodes))
fi

run_name=$(rein_config_get "${config}" run.name)
export REIN_SLURM_DIR=${here}
export REIN_WORKER_NODES=${worker_nodes} REIN_LEARNER_NODES=${learner_nodes}
command=(sbatch "--job-name=rein-${run_name//[^A-Za-z0-9._-]/_}" "${sbatch_options[@]}"
  "${here}/rein.sbatch" "${config}")
echo "submit.sh: ${nodes} node(s): ${worker_tasks} worker task(s) on ${worker_nodes}," \
  "${ranks} learner rank(s) on ${learner_nodes} (${device})" >&2
if ((dry_run)); then
  echo "REIN_BIN=${REIN_BIN} REIN_SLURM_DIR=${REIN_SLURM_DIR} REIN_WORKER_NODES=${worker_nodes}" \
    "REIN_LEARNER_NODES=${learner_nodes} ${command[*]}"
  exit 0
fi
exec "${command[@]}"
