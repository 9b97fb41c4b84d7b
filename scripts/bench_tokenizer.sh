#!/usr/bin/env bash
# Tokenizer throughput on one thread: Rein's C++ tokenizer against Hugging Face tokenizers.js
# (npm @huggingface/tokenizers, run by node) on the same text, in the same run, for the pinned
# Qwen3 and Llama 3 tokenizers. The text is the golden texts of tests/data/tokenizer repeated to
# a few MB, encoded text by text. Both sides must produce the same ids (checked by checksum).
#
#   scripts/bench_tokenizer.sh [--build-dir DIR] [--out DIR] [--mb N] [--passes N]
#
#   --build-dir  CMake build folder to build tokenizer_benchmark in (default: build)
#   --out        results folder (default: <build-dir>/bench/tokenizer/<timestamp>)
#   --mb         corpus size in MB of UTF-8 text (default: 4)
#   --passes     timed passes per implementation after one warm-up pass (default: 3)
#
# Writes <out>/results.json (MB/s and tokens/s of each, with and without Rein's pre-token cache,
# and the speed-up) and prints the folder. Exits non-zero if the ids differ. tokenizers.js is
# installed on first use into ${REIN_CACHE:-~/.cache/rein}/npm/tokenizersjs-<version>.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR="$ROOT/build"
OUT=""
MB=4
PASSES=3
TARGET=3
TOKENIZERS_JS_VERSION=0.2.0
while (($#)); do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --mb) MB="$2"; shift 2 ;;
    --passes) PASSES="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_tokenizer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$BUILD_DIR/bench/tokenizer/$(date +%Y%m%d-%H%M%S)}
CACHE=${REIN_CACHE:-$HOME/.cache/rein}
JS_DIR="$CACHE/npm/tokenizersjs-$TOKENIZERS_JS_VERSION"

log() { printf '[bench_tokenizer] %s\n' "$*" >&2; }
die() { printf 'bench_tokenizer.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node not found; run scripts/setup.sh"
command -v npm >/dev/null || die "npm not found; run scripts/setup.sh"
for name in qwen3 llama3; do
  [[ -s "$CACHE/tokenizers/$name/tokenizer.json" ]] ||
    die "tokenizer $name missing in $CACHE/tokenizers; run scripts/setup.sh"
done

if [[ ! -f "$JS_DIR/node_modules/@huggingface/tokenizers/package.json" ]]; then
  log "installing @huggingface/tokenizers@$TOKENIZERS_JS_VERSION into $JS_DIR"
  mkdir -p "$JS_DIR"
  [[ -f "$JS_DIR/package.json" ]] || echo '{"private": true}' > "$JS_DIR/package.json"
  npm install --prefix "$JS_DIR" --no-audit --no-fund --silent \
    "@huggingface/tokenizers@$TOKENIZERS_JS_VERSION" >&2
fi

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  log "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja >&2
fi
log "building tokenizer_benchmark in $BUILD_DIR"
ninja -C "$BUILD_DIR" tokenizer_benchmark >&2
BENCH="$BUILD_DIR/bin/tokenizer_benchmark"

mkdir -p "$OUT"
HELPER="$ROOT/scripts/bench_tokenizer.mjs"
node "$HELPER" corpus --mb "$MB" --out "$OUT/corpus.jsonl" \
  --golden "$ROOT/tests/data/tokenizer/qwen3.jsonl,$ROOT/tests/data/tokenizer/llama3.jsonl" \
  > "$OUT/corpus.json"
log "corpus: $(cat "$OUT/corpus.json")"

for name in qwen3 llama3; do
  dir="$CACHE/tokenizers/$name"
  log "$name: rein"
  "$BENCH" --tokenizer "$dir" --corpus "$OUT/corpus.jsonl" --passes "$PASSES" \
    > "$OUT/$name.rein.json"
  log "$name: rein without the pre-token cache"
  "$BENCH" --tokenizer "$dir" --corpus "$OUT/corpus.jsonl" --passes "$PASSES" \
    --cache_capacity 0 > "$OUT/$name.rein-nocache.json"
  log "$name: tokenizers.js"
  node "$HELPER" tokenizersjs --module-dir "$JS_DIR" --tokenizer "$dir" \
    --corpus "$OUT/corpus.jsonl" --passes "$PASSES" > "$OUT/$name.tokenizersjs.json"
done
rm -f "$OUT/corpus.jsonl"  # Rebuilt from the golden files on every run.

node "$HELPER" summarize --dir "$OUT" --target "$TARGET"
echo "results: $OUT"
