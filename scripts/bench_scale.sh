#!/usr/bin/env bash
# Speed near the machine's limits on Qwen3-0.6B's shape (random weights, the real config.json),
# every figure against a limit measured in the same run (rein-bench-scale, then the services):
#   decode    tokens/s at batch 1, 16, 64 vs the memory-bandwidth roofline (memcpy bandwidth /
#             bytes of every weight, read once per step): target >= 60%
#   learner   GRPO Train FLOP/s (6 x matmul parameters x tokens) vs the at::mm peak of its dtype:
#             target >= 50%
#   push      the learner's weight push into a rollout service vs raw loopback TCP of the same
#             bytes: target >= 0.5x (as the learner holds the weights, and cast to the replica's
#             bf16)
#   loop      reinctl up on the same checkpoint with the real Qwen3 tokenizer, GRPO 16 samples x
#             32 new tokens: per-phase seconds and the orchestration overhead (as bench_loop.sh:
#             wall time less what the workers measured, over wall time; target <= 5%)
#
#   scripts/bench_scale.sh [--shape qwen3-0.6b|small|tiny] [--threads N] [--loop-iterations 3]
#                          [--no-loop] [--loop-dtype auto|bf16|f32] [--loop-lora R]
#                          [--loop-checkpointing] [--loop-only] [--skip-build]
#                          [-- rein-bench-scale flags]
#
#   --shape            model shape (default qwen3-0.6b; tiny or small for a quick check)
#   --threads          LibTorch intra-op threads of the tool and of every service (OMP_NUM_THREADS)
#                      (default: every core, nproc; LibTorch alone may pick fewer)
#   --loop-iterations  iterations of the services run, the first left out as warm-up (default 3;
#                      2-4 minutes each on 2 cores at 0.6B)
#   --no-loop          skip the services run
#   --loop-dtype       model.dtype of the services run (default auto: float32 on CPU)
#   --loop-lora R      learner.lora.rank of the services run (default 0: every weight trains)
#   --loop-checkpointing  learner.gradient_checkpointing on in the services run
#   --loop-only        skip rein-bench-scale's sections (it still writes the checkpoint)
#   --skip-build       use the binaries in the build folder as they are
#   flags after -- go to rein-bench-scale (e.g. --decode_batches=1,16 --decode_dtypes=bfloat16)
#
# JSON goes to ${REIN_BENCH_OUT:-bench-results/<timestamp>}/scale/ (scale.json, loop.json);
# a summary is printed. Measures the machine as it is: run it idle (the load average at start
# and end is in the report). The services run also reports each process's peak RSS (VmHWM) and
# their sum against the 12 GiB target (loop.peak_rss_bytes.json). Peak memory at 0.6B: ~12 GB
# in rein-bench-scale (the learner's float32 weights, gradients and AdamW moments).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$PWD/$build_dir/bin"
shape=qwen3-0.6b
loop_iterations=3
loop_dtype=auto
loop_lora=0
loop_only=0
loop_checkpointing=false
threads=$(nproc)
skip_build=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shape) shape=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --loop-iterations) loop_iterations=$2; shift 2 ;;
    --no-loop) loop_iterations=0; shift ;;
    --loop-dtype) loop_dtype=$2; shift 2 ;;
    --loop-lora) loop_lora=$2; shift 2 ;;
    --loop-only) loop_only=1; shift ;;
    --loop-checkpointing) loop_checkpointing=true; shift ;;
    --skip-build) skip_build=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "bench_scale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { printf '[bench_scale] %s\n' "$*" >&2; }

if [[ $skip_build != 1 ]]; then
  targets=(rein_bench_scale)
  if [[ $loop_iterations -gt 0 ]]; then
    targets+=(reinctl_main rein_coordinator rein_rollout rein_reward rein_reference rein_learner)
  fi
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${REIN_BUILD_TYPE:-RelWithDebInfo}" \
      -DREIN_WERROR=ON >&2
  fi
  CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}" \
    ninja -C "$build_dir" "${targets[@]}" >&2
fi
out="${REIN_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}/scale"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/rein-bench-scale-XXXXXX)
trap 'rm -rf "$work"' EXIT

log "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
if [[ $loop_only == 1 ]]; then
  "$bin/rein-bench-scale" --shape "$shape" --checkpoint "$work/policy" --write_checkpoint_only
else
  "$bin/rein-bench-scale" --shape "$shape" --threads "$threads" --checkpoint "$work/policy" \
    --out "$out/scale.json" "${extra[@]}"
fi

if [[ $loop_iterations -gt 0 && $shape != qwen3-0.6b ]]; then
  log "no services run for shape $shape: the Qwen3 tokenizer's ids need Qwen3's vocabulary"
  loop_iterations=0
fi
if [[ $loop_iterations -gt 0 ]]; then
  tokenizer="${REIN_CACHE:-$HOME/.cache/rein}/tokenizers/qwen3"
  [[ -s "$tokenizer/tokenizer.json" ]] || { log "no Qwen3 tokenizer in $tokenizer: run scripts/setup.sh"; exit 1; }
  # Prompts of ~30 Qwen3 tokens; a random model's responses run to max_new_tokens (no EOS).
  python3 - "$work/prompts.jsonl" <<'PY'
import json, sys
topics = ["gradients", "tokenizers", "weight decay", "the KV cache", "reward models", "sampling",
          "attention heads", "layer norms", "learning rates", "policy lag", "roofline models",
          "memory bandwidth", "matrix multiplication", "loopback sockets", "checkpoints", "GRPO"]
with open(sys.argv[1], "w") as f:
    for i in range(64):
        t = topics[i % len(topics)]
        f.write(json.dumps({"prompt": f"Explain {t} to a new engineer on the team in three short "
                            f"paragraphs, with one concrete example and one common mistake (note {i})."}) + "\n")
PY
  cat > "$work/scale.yaml" <<YAML
run: {name: bench-scale, seed: 7, iterations: $loop_iterations, mode: sync, output_dir: $work/runs, checkpoint_every: 0}
data: {prompts: $work/prompts.jsonl, prompt_format: text, max_prompt_tokens: 64}
model: {policy: $work/policy, tokenizer: $tokenizer, dtype: $loop_dtype}
rollout: {replicas: 1, capacity: 16, batch_size: 4, samples_per_prompt: 4, sampling: {max_new_tokens: 32}}
reward: {model_weight: 0, rules: {length_penalty: {weight: 1.0, target_tokens: 12}}}
learner: {mode: grpo, learning_rate: 0.000001, micro_batch_size: 4, gradient_checkpointing: $loop_checkpointing, lora: {rank: $loop_lora, alpha: $((2 * loop_lora > 0 ? 2 * loop_lora : 16))}}
server: {call_timeout: 900s, drain_timeout: 5s}
YAML
  log "services: $loop_iterations GRPO iterations of 16 x 32 tokens (model.dtype $loop_dtype, learner.lora.rank $loop_lora, gradient_checkpointing $loop_checkpointing, $threads threads each)"
  OMP_NUM_THREADS=$threads "$bin/reinctl" up --config "$work/scale.yaml" --run-dir "$work/runs/scale" > "$out/loop.log" 2>&1 &
  up_pid=$!
  # Each process's peak resident memory (VmHWM, which only grows) as last read while it ran:
  # reinctl up lists the processes it starts in <run dir>/pids.
  declare -A peak_kib=()
  while kill -0 "$up_pid" 2>/dev/null; do
    if [[ -f "$work/runs/scale/pids" ]]; then
      while read -r name pid; do
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [[ -n "$hwm" && "$hwm" -gt "${peak_kib[$name]:-0}" ]] && peak_kib[$name]=$hwm
      done < "$work/runs/scale/pids"
    fi
    sleep 1
  done
  wait "$up_pid" || { tail -50 "$out/loop.log"; exit 1; }
  {
    echo "{"
    sep=""
    for name in "${!peak_kib[@]}"; do printf '%s  "%s": %s' "$sep" "$name" "$((peak_kib[$name] * 1024))"; sep=$',\n'; done
    printf '\n}\n'
  } > "$out/loop.peak_rss_bytes.json"
  cp "$work/runs/scale/stats.jsonl" "$out/loop.stats.jsonl"
fi

python3 - "$out" "$threads" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
r = json.load(open(f"{out}/scale.json")) if os.path.exists(f"{out}/scale.json") else None
def verdict(value, target, higher=True):
    ok = value >= target if higher else value <= target
    return f"{'meets' if ok else 'MISSES'} target {'>=' if higher else '<='} {target:g}"
if r is not None:
    lim = r["limits"]
    print(f"\nrein-bench-scale, shape {r['shape']}, {r['threads']} threads, load {r['load_average_start']} -> {r.get('load_average_end', '?')}")
    print(f"limits: memcpy {lim['memcpy']['traffic_bytes_per_s']/1e9:.1f} GB/s (read + write); "
          f"matmul peak float32 {lim['matmul']['float32']['peak_flops_per_s']/1e9:.0f} GFLOP/s, "
          f"bfloat16 {lim['matmul']['bfloat16']['peak_flops_per_s']/1e9:.0f} GFLOP/s")
    for d in r.get("decode", []):
        print(f"decode {d['dtype']} ({d['weight_bytes_per_step']/1e9:.2f} GB of weights per step):")
        for x in d["results"]:
            print(f"  batch {x['batch']:>3}: {x['decode_tokens_per_s']:8.1f} tok/s, roofline "
                  f"{x['roofline_tokens_per_s']:8.1f} -> {100*x['ratio_to_roofline']:5.1f}% "
                  f"({verdict(x['ratio_to_roofline'], d['target_ratio_to_roofline'])}); "
                  f"compute bound {x['compute_bound_tokens_per_s']:.1f} tok/s; Generate end to end "
                  f"{x['generate_tokens_per_s']:.1f} tok/s")
    if "learner" in r:
        l = r["learner"]
        print(f"learner GRPO {l['dtype']}: {l['samples']} x {l['prompt_tokens']}+{l['response_tokens']} tokens, "
              f"{l['flops_per_train']/1e12:.2f} TFLOP in {l['train_seconds_best']:.2f} s = "
              f"{l['flops_per_s']/1e9:.0f} GFLOP/s vs peak {l['matmul_peak_flops_per_s']/1e9:.0f} -> "
              f"{100*l['ratio_to_matmul_peak']:.1f}% ({verdict(l['ratio_to_matmul_peak'], l['target_ratio_to_matmul_peak'])})")
    if "push" in r:
        for p in r["push"]["pushes"]:
            print(f"push {p['wire_dtype']} on the wire, {p['bytes']/1e9:.2f} GB to a {r['push']['rollout_dtype']} replica: "
                  f"{p['push_seconds_best']:.2f} s vs raw TCP {p['raw_tcp_seconds_best']:.2f} s -> "
                  f"{p['ratio_push_to_raw_tcp']:.2f}x ({verdict(p['ratio_push_to_raw_tcp'], p['target_ratio'])})")

stats_path = f"{out}/loop.stats.jsonl"
if os.path.exists(stats_path):
    rows = [json.loads(line) for line in open(stats_path)]
    warmup = 1 if len(rows) > 1 else 0
    rows = rows[warmup:]
    mean = lambda key: statistics.fmean(x[key] for x in rows)
    phases = ["generate", "score", "train", "weight_sync", "iteration"]
    loop = {f"{p}_seconds": mean(f"time/{p}_seconds") for p in phases}
    loop["critical_path_compute_seconds"] = mean("time/critical_path_compute_seconds")
    overheads = [x["orchestration/overhead_fraction"] for x in rows]
    loop.update(iterations_measured=len(rows), warmup_iterations=warmup,
                overhead_fraction_mean=statistics.fmean(overheads),
                overhead_fraction_max=max(overheads), target_overhead_fraction=0.05)
    loop["threads_per_process"] = int(sys.argv[2])
    peaks_path = f"{out}/loop.peak_rss_bytes.json"
    if os.path.exists(peaks_path):
        peaks = json.load(open(peaks_path))
        loop["peak_rss_bytes"] = peaks
        loop["peak_rss_bytes_sum"] = sum(peaks.values())
        loop["target_peak_rss_bytes_sum"] = 12 * 2**30
    json.dump(loop, open(f"{out}/loop.json", "w"), indent=2)
    print(f"services GRPO iteration ({len(rows)} measured after {warmup} warm-up): "
          + "  ".join(f"{p} {loop[p + '_seconds']:.2f} s" for p in phases))
    print(f"orchestration overhead mean {100*loop['overhead_fraction_mean']:.2f}%  max "
          f"{100*loop['overhead_fraction_max']:.2f}% ({verdict(loop['overhead_fraction_max'], 0.05, higher=False)})")
    if "peak_rss_bytes" in loop:
        print("peak RSS per process: " + ", ".join(
            f"{name} {b / 2**30:.2f} GiB" for name, b in sorted(loop["peak_rss_bytes"].items())))
        print(f"peak RSS summed {loop['peak_rss_bytes_sum'] / 2**30:.2f} GiB "
              f"({verdict(loop['peak_rss_bytes_sum'] / 2**30, 12, higher=False)} GiB)")
print(f"results: {out}")
PY
