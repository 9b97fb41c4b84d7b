// Helper of scripts/bench_tokenizer.sh, run by node.
//   node bench_tokenizer.mjs corpus    --golden A.jsonl,B.jsonl --mb 4 --out corpus.jsonl
//   node bench_tokenizer.mjs tokenizersjs --module-dir DIR --tokenizer DIR --corpus FILE --passes N
//   node bench_tokenizer.mjs summarize --dir RESULTS_DIR --target 3
// "tokenizersjs" encodes every corpus text with Hugging Face tokenizers.js (single thread, as
// tokenizer_benchmark does for Rein) and prints the same JSON report, checksum included.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

function flags(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad flag ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function readTexts(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l).text);
}

// Golden texts repeated until they hold at least `mb` MB of UTF-8.
function corpus(f) {
  const texts = f.golden.split(',').flatMap(readTexts);
  const target = Number(f.mb) * 1e6;
  const lines = [];
  let bytes = 0;
  while (bytes < target) {
    for (const text of texts) {
      lines.push(JSON.stringify({ text }));
      bytes += Buffer.byteLength(text, 'utf8');
    }
  }
  fs.writeFileSync(f.out, lines.join('\n') + '\n');
  console.log(JSON.stringify({ texts: lines.length, bytes }));
}

function tokenizersjs(f) {
  const require = createRequire(path.join(f['module-dir'], 'package.json'));
  const { Tokenizer } = require('@huggingface/tokenizers');
  const version = JSON.parse(fs.readFileSync(
    path.join(f['module-dir'], 'node_modules/@huggingface/tokenizers/package.json'), 'utf8')).version;
  let start = process.hrtime.bigint();
  const tokenizer = new Tokenizer(
    JSON.parse(fs.readFileSync(path.join(f.tokenizer, 'tokenizer.json'), 'utf8')),
    JSON.parse(fs.readFileSync(path.join(f.tokenizer, 'tokenizer_config.json'), 'utf8')));
  const loadSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const texts = readTexts(f.corpus);
  const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0);
  let tokens = 0;
  let checksum = 0;
  const pass = () => {
    tokens = 0;
    checksum = 0;
    const begin = process.hrtime.bigint();
    for (const text of texts) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      tokens += ids.length;
      for (const id of ids) checksum = (Math.imul(checksum, 31) + id + 1) >>> 0;
    }
    return Number(process.hrtime.bigint() - begin) / 1e9;
  };
  const warmup = pass();
  const seconds = [];
  for (let i = 0; i < Number(f.passes ?? 5); ++i) seconds.push(pass());
  const best = Math.min(warmup, ...seconds);
  console.log(JSON.stringify({
    implementation: `tokenizers.js ${version} (node ${process.version})`,
    tokenizer: f.tokenizer, texts: texts.length, bytes, tokens, ids_checksum: checksum,
    load_seconds: loadSeconds, warmup_seconds: warmup, pass_seconds: seconds,
    best_mb_per_s: bytes / best / 1e6, best_tokens_per_s: tokens / best,
  }, null, 2));
}

// Reads <name>.rein.json, <name>.rein-nocache.json and <name>.tokenizersjs.json for each
// tokenizer in the folder; writes results.json and prints a table.
function summarize(f) {
  const read = (file) => JSON.parse(fs.readFileSync(path.join(f.dir, file), 'utf8'));
  const names = fs.readdirSync(f.dir).filter((n) => n.endsWith('.tokenizersjs.json'))
    .map((n) => n.replace('.tokenizersjs.json', '')).sort();
  const target = Number(f.target);
  const results = { unit: 'MB = 1e6 bytes of UTF-8 input; single thread', target_ratio: target,
                    tokenizers: {} };
  let ok = true;
  for (const name of names) {
    const rein = read(`${name}.rein.json`);
    const cold = read(`${name}.rein-nocache.json`);
    const js = read(`${name}.tokenizersjs.json`);
    const same = rein.tokens === js.tokens && rein.ids_checksum === js.ids_checksum &&
                 cold.ids_checksum === js.ids_checksum;
    const ratio = rein.best_mb_per_s / js.best_mb_per_s;
    ok = ok && same;
    results.tokenizers[name] = {
      bytes: rein.bytes, texts: rein.texts, tokens: rein.tokens, same_ids: same,
      rein_mb_per_s: rein.best_mb_per_s, rein_tokens_per_s: rein.best_tokens_per_s,
      rein_nocache_mb_per_s: cold.best_mb_per_s, rein_nocache_tokens_per_s: cold.best_tokens_per_s,
      tokenizersjs_mb_per_s: js.best_mb_per_s, tokenizersjs_tokens_per_s: js.best_tokens_per_s,
      speedup: ratio, speedup_nocache: cold.best_mb_per_s / js.best_mb_per_s,
      meets_target: ratio >= target,
      tokenizersjs: js.implementation,
    };
  }
  fs.writeFileSync(path.join(f.dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const row = (cols) => cols.map((c, i) => String(c).padEnd(i === 0 ? 8 : 14)).join('');
  console.log(row(['', 'rein MB/s', 'rein tok/s', 'no-cache MB/s', 'tfjs MB/s', 'tfjs tok/s',
                   'speedup', 'same ids']));
  for (const [name, r] of Object.entries(results.tokenizers)) {
    console.log(row([name, r.rein_mb_per_s.toFixed(2), (r.rein_tokens_per_s / 1e6).toFixed(2) + 'M',
                     r.rein_nocache_mb_per_s.toFixed(2), r.tokenizersjs_mb_per_s.toFixed(2),
                     (r.tokenizersjs_tokens_per_s / 1e6).toFixed(2) + 'M',
                     r.speedup.toFixed(2) + 'x', r.same_ids]));
  }
  if (!ok) {
    console.error('bench_tokenizer: Rein and tokenizers.js produced different ids');
    process.exit(1);
  }
}

const [mode, ...rest] = process.argv.slice(2);
const modes = { corpus, tokenizersjs, summarize };
if (!modes[mode]) {
  console.error('usage: bench_tokenizer.mjs corpus|tokenizersjs|summarize --flag value ...');
  process.exit(2);
}
modes[mode](flags(rest));
