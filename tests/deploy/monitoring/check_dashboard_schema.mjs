// Type-checks Grafana dashboards against the Dashboard type Grafana publishes in
// @grafana/schema, with TypeScript's compiler.
//
//   node check_dashboard_schema.mjs [--scratch DIR] DASHBOARD.json...
//
// A JSON file imported with resolveJsonModule is widened (every string becomes `string`, and
// an object from a file is not an object literal, so unknown properties go unnoticed). So each
// dashboard is written out as a .ts file whose object literal must satisfy Dashboard: literal
// types stay narrow and TypeScript's excess-property check applies to every nested object.
//
// Negative checks, so the test can fail: copies of the first dashboard with an unknown
// top-level property, an unknown panel property and a wrong type must each be rejected.
// Exit status 0 only if every dashboard passes and every broken copy fails.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let scratch = null;
if (args[0] === '--scratch') {
  scratch = resolve(args[1]);
  args.splice(0, 2);
}
if (args.length === 0) {
  console.error('usage: node check_dashboard_schema.mjs [--scratch DIR] DASHBOARD.json...');
  process.exit(2);
}
const schemaTypes = join(here, 'node_modules/@grafana/schema/dist/types/index.d.ts');
if (!existsSync(schemaTypes) || !existsSync(join(here, 'node_modules/typescript/bin/tsc'))) {
  console.log(`SKIPPED: run \`npm ci --ignore-scripts\` in ${here} (scripts/setup.sh does)`);
  process.exit(77);
}
const ownScratch = scratch === null;
if (ownScratch) scratch = mkdtempSync(join(tmpdir(), 'rein-dashboard-schema-'));
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });

const toTs = (dashboard) =>
  "import type { Dashboard } from '@grafana/schema';\n\n" +
  `export const dashboard = ${JSON.stringify(dashboard, null, 2)} satisfies Dashboard;\n`;

// Each case: file name, dashboard object, whether it must pass.
const cases = [];
for (const path of args) {
  cases.push({ name: basename(path, '.json'), dashboard: JSON.parse(readFileSync(path, 'utf8')),
               valid: true, what: path });
}
const first = cases[0].dashboard;
const copy = () => structuredClone(first);
const broken = [
  ['broken-top-level', 'an unknown top-level property', (d) => { d.titel = d.title; }],
  ['broken-panel', 'an unknown panel property',
   (d) => { d.panels.find((p) => p.type !== 'row').gridPosition = { x: 0, y: 0 }; }],
  ['broken-type', 'a wrong type (schemaVersion a string)',
   (d) => { d.schemaVersion = String(d.schemaVersion); }],
  // (Panel.targets is Array<Record<string, unknown>> in the schema: queries are the data
  // source's business, so a nested panel field stands for "a wrong type inside a panel".)
  ['broken-grid', "a wrong type inside a panel (gridPos.h a string)",
   (d) => { d.panels.find((p) => p.gridPos).gridPos.h = '8'; }],
];
for (const [name, what, mutate] of broken) {
  const d = copy();
  mutate(d);
  cases.push({ name, dashboard: d, valid: false, what });
}
for (const c of cases) writeFileSync(join(scratch, `${c.name}.ts`), toTs(c.dashboard));

writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({
  compilerOptions: {
    strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler',
    skipLibCheck: true, types: [], paths: { '@grafana/schema': [schemaTypes] },
  },
  files: cases.map((c) => `${c.name}.ts`),
}, null, 2));

// One compiler run over every case (tsc is slow to start); errors name their file.
let output = '';
try {
  execFileSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', scratch],
               { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
} catch (error) {
  output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
}
let failed = false;
for (const c of cases) {
  const errors = output.split('\n').filter((line) => line.startsWith(`${c.name}.ts(`));
  if (c.valid && errors.length > 0) {
    failed = true;
    console.log(`FAIL: ${c.what} does not conform to @grafana/schema's Dashboard:`);
    for (const line of errors) console.log(`  ${line}`);
  } else if (!c.valid && errors.length === 0) {
    failed = true;
    console.log(`FAIL: a dashboard with ${c.what} passed the check (the check is too loose)`);
  } else {
    console.log(`ok: ${c.valid ? c.what + ' conforms' : 'rejected ' + c.what}` +
                (c.valid ? '' : `: ${errors[0].replace(/^[^:]*: /, '')}`));
  }
}
const stray = output.split('\n').filter((l) => l.trim() && !cases.some((c) => l.startsWith(`${c.name}.ts(`)) && !l.startsWith(' '));
if (stray.length > 0) {
  failed = true;
  console.log('FAIL: the compiler reported other errors:\n' + stray.join('\n'));
}
if (ownScratch) rmSync(scratch, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
