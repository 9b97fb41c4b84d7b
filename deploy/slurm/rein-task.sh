#!/usr/bin/env bash
# One Rein process as one Slurm task: rein.sbatch runs it under srun, once per task of a step.
#
#   rein-task.sh NAME BINARY [FLAG...]
#
# NAME names the process kind (coordinator, rollout, reward, reference, learner, feedback,
# reward-learner, cost-learner); the task's index in its step (SLURM_PROCID) makes the worker
# id NAME-<index> and the log file $REIN_RUN_DIR/logs/NAME-<index>.log (the coordinator's is
# logs/coordinator.log), which every start on a requeue appends to after a header line
# ("rein-task: start job=... restart=..."). BINARY is rein-<BINARY> in $REIN_BIN. A FLAG
# "--snapshot_root", "--model_root" or "--checkpoint_root" alone becomes
# --<flag>=$REIN_RUN_DIR: the folders a worker may read and write on request.
#
# From rein.sbatch's environment: REIN_BIN, REIN_CONFIG, REIN_RUN_DIR, REIN_NODE_ADDRS
# ("node=address ..." for every node of the job), and for workers REIN_COORDINATOR
# (host:port, read by the binaries themselves) and REIN_DRAIN_GRACE; for the learner
# MASTER_ADDR and MASTER_PORT. From Slurm: SLURMD_NODENAME, SLURM_PROCID, SLURM_NTASKS,
# SLURM_LOCALID, SLURM_JOB_ID, SLURM_RESTART_COUNT.
set -euo pipefail

name=$1
binary=$2
shift 2
index=${SLURM_PROCID:?rein-task.sh runs as a Slurm task}
node=${SLURMD_NODENAME:?}

# The address the coordinator and peers dial this process at: the node's NodeAddr.
address=${node}
for entry in ${REIN_NODE_ADDRS:-}; do
  if [[ ${entry%%=*} == "${node}" ]]; then address=${entry#*=}; fi
done

if [[ ${name} == coordinator ]]; then
  process=coordinator
else
  process=${name}-${index}
fi
log=${REIN_RUN_DIR:?}/logs/${process}.log
mkdir -p "${REIN_RUN_DIR}/logs"
exec >>"${log}" 2>&1
echo "rein-task: start job=${SLURM_JOB_ID:-} restart=${SLURM_RESTART_COUNT:-0} process=${process}" \
  "node=${node} address=${address} at $(date -u +%FT%TZ)"

args=("--config=${REIN_CONFIG:?}")
case ${name} in
  coordinator)
    # --resume with the run folder: its newest complete checkpoint, or a fresh start when it
    # has none, so the first start and every requeue run the same command.
    args+=("--port=${REIN_COORDINATOR_PORT:-0}" --start --exit_when_done
      "--run_dir=${REIN_RUN_DIR}" "--resume=${REIN_RUN_DIR}")
    ;;
  *)
    : "${REIN_COORDINATOR:?}"
    args+=(--port=0 "--worker_id=${process}" "--drain_grace=${REIN_DRAIN_GRACE:-60s}")
    # rein-feedback is dialled at server.host as reinctl up does; the rest advertise the node.
    if [[ ${name} != feedback ]]; then args+=("--advertise_host=${address}"); fi
    ;;
esac

if [[ ${name} == learner ]]; then
  # The data-parallel group: one Slurm step of learner.ranks tasks. MASTER_ADDR/MASTER_PORT
  # (rank 0's TCPStore) come from rein.sbatch.
  export RANK=${SLURM_PROCID} WORLD_SIZE=${SLURM_NTASKS} LOCAL_RANK=${SLURM_LOCALID}
  # With one GPU bound to the task (--gpus-per-task=1, --gpu-bind=per_task:1) that GPU is
  # CUDA ordinal 0 in this process whatever the task's local rank is.
  if [[ -n ${CUDA_VISIBLE_DEVICES:-} && ${CUDA_VISIBLE_DEVICES} != *,* ]]; then export LOCAL_RANK=0; fi
  args+=("--rank=${RANK}" "--gloo_hostname=${address}" "--resume=${REIN_RUN_DIR}")
fi

for flag in "$@"; do
  case ${flag} in
    --snapshot_root | --model_root | --checkpoint_root) flag=${flag}=${REIN_RUN_DIR} ;;
  esac
  args+=("${flag}")
done

exec "${REIN_BIN:?}/rein-${binary}" "${args[@]}"
