// Peer comparison: FeedbackHub's language checker (the `lint` command) vs alex on the labeled corpus.
// Usage: node compare.mjs [--repeat-ours N] [--repeat-alex N]
//        (run from anywhere; expects `dotnet build -c Release src/Api` first)
// Prints markdown tables: quality on corpus.jsonl and holdout.jsonl, per category, and throughput.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { text as alexText } from 'alex';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dll = join(root, 'src', 'Api', 'bin', 'Release', 'net10.0', 'FeedbackHub.Api.dll');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const repeatOurs = option('--repeat-ours', 200);
const repeatAlex = option('--repeat-alex', 3);
const work = mkdtempSync(join(tmpdir(), 'lang-bench-'));

// alex's gendered-pronoun rules fire on almost every sentence of feedback ("he", "she"), so we also report alex
// with those rules allowed, which is the fairer configuration for this text.
const pronounRules = ['he-she', 'her-him', 'hers-his', 'herself-himself'];

function load(file) {
  return readFileSync(join(root, 'tests', 'Domain.Tests', 'Language', file), 'utf8')
    .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function runOurs(items) {
  const input = join(work, 'input.jsonl');
  const output = join(work, 'output.jsonl');
  writeFileSync(input, items.map((i) => JSON.stringify({ id: i.id, text: i.text })).join('\n') + '\n');
  const fd = openSync(output, 'w');
  const start = performance.now();
  // stdout goes straight to a file, so the timing is the process, not node's pipe buffering.
  const run = spawnSync('dotnet', [dll, 'lint', '--input', input], { stdio: ['ignore', fd, 'inherit'] });
  const seconds = (performance.now() - start) / 1000;
  closeSync(fd);
  if (run.status !== 0 && run.status !== 1) throw new Error(`lint exited with ${run.status}`); // 1 = block findings
  const byId = new Map();
  for (const line of readFileSync(output, 'utf8').split('\n').filter((l) => l.trim())) {
    const r = JSON.parse(line);
    byId.set(r.id, r.findings.map((f) => f.category));
  }
  return { seconds, categories: (item) => byId.get(item.id) ?? [] };
}

function runAlex(items, allow = []) {
  const start = performance.now();
  const flagged = new Map();
  for (const item of items) {
    const file = alexText(item.text, { allow });
    flagged.set(item.id, file.messages.length);
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, categories: (item) => (flagged.get(item.id) > 0 ? ['*'] : []) };
}

// strict: a risky item is a true positive only if a finding of its category is present (ours only).
function score(items, result, strict) {
  let tp = 0, fp = 0, fn = 0;
  const cats = {};
  const cat = (c) => (cats[c] ??= { tp: 0, fp: 0, fn: 0 });
  for (const item of items) {
    const found = result.categories(item);
    const any = found.length > 0;
    if (item.risky) {
      const hit = strict ? found.includes(item.category) : any;
      if (hit) { tp++; cat(item.category).tp++; } else { fn++; cat(item.category).fn++; if (any) fp++; }
    } else if (any) {
      fp++;
      if (item.topic) cat(item.topic).fp++;
    }
  }
  return { tp, fp, fn, cats };
}

const pr = ({ tp, fp, fn }) => {
  const p = tp + fp ? tp / (tp + fp) : 1, r = tp + fn ? tp / (tp + fn) : 1;
  return { p, r, f1: p + r ? (2 * p * r) / (p + r) : 0 };
};
const f3 = (x) => x.toFixed(3);

function qualityTable(title, items) {
  const ours = runOurs(items);
  const alex = runAlex(items);
  const alexNoPronouns = runAlex(items, pronounRules);
  const rows = [
    ['FeedbackHub (category must match)', score(items, ours, true)],
    ['FeedbackHub (any finding)', score(items, ours, false)],
    ['alex 11.0.1 (default config)', score(items, alex, false)],
    ['alex 11.0.1 (pronoun rules allowed)', score(items, alexNoPronouns, false)],
  ];
  console.log(`\n### ${title}: ${items.length} items (${items.filter((i) => i.risky).length} risky)\n`);
  console.log('| checker | TP | FP | FN | precision | recall | F1 |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of rows) {
    const m = pr(s);
    console.log(`| ${name} | ${s.tp} | ${s.fp} | ${s.fn} | ${f3(m.p)} | ${f3(m.r)} | ${f3(m.f1)} |`);
  }
  return rows;
}

const corpus = load('corpus.jsonl');
const holdout = load('holdout.jsonl');
const rows = qualityTable('corpus.jsonl', corpus);
qualityTable('holdout.jsonl (written after the rules, never used for tuning)', holdout);

// Per category (corpus.jsonl): recall over the category's risky items; precision counts the hard-safe items of
// the same topic that were flagged. Category-agnostic for both tools (alex has no categories).
console.log('\n### Per category, corpus.jsonl (any finding counts; FP = hard-safe items of that topic flagged)\n');
console.log('| category | ours P | ours R | ours F1 | alex P | alex R | alex F1 | alex (no pronouns) P | R | F1 |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const [, oursAny] = rows[1], [, alexDefault] = rows[2], [, alexNp] = rows[3];
for (const c of Object.keys(oursAny.cats).sort()) {
  const a = pr(oursAny.cats[c]), b = pr(alexDefault.cats[c] ?? { tp: 0, fp: 0, fn: 0 }), d = pr(alexNp.cats[c] ?? { tp: 0, fp: 0, fn: 0 });
  console.log(`| ${c} | ${f3(a.p)} | ${f3(a.r)} | ${f3(a.f1)} | ${f3(b.p)} | ${f3(b.r)} | ${f3(b.f1)} | ${f3(d.p)} | ${f3(d.r)} | ${f3(d.f1)} |`);
}

// Throughput: the corpus repeated (alex is slow, so it gets fewer repetitions; rates are comparable). Ours runs
// as a separate process (includes .NET start-up, catalog compile and JIT, also shown on its own); alex runs in
// this process after import.
const repeated = (n) => Array.from({ length: n }, (_, k) => corpus.map((i) => ({ ...i, id: `${i.id}#${k}` }))).flat();
const megabytes = (items) => items.reduce((n, i) => n + Buffer.byteLength(i.text, 'utf8'), 0) / (1 << 20);
const oursItems = repeated(repeatOurs);
const alexItems = repeated(repeatAlex);
const oursRun = runOurs(oursItems);
const startupRun = runOurs(corpus.slice(0, 1));
const alexRun = runAlex(alexItems);
console.log('\n### Throughput (corpus.jsonl repeated)\n');
console.log('| checker | items | MB (UTF-8) | seconds | items/s | MB/s |');
console.log('|---|---:|---:|---:|---:|---:|');
const line = (name, items, s) => {
  const mb = megabytes(items);
  console.log(`| ${name} | ${items.length} | ${mb.toFixed(2)} | ${s.toFixed(2)} | ${Math.round(items.length / s)} | ${(mb / s).toFixed(2)} |`);
};
line('FeedbackHub `lint` (whole process, JSON Lines in and out)', oursItems, oursRun.seconds);
line('FeedbackHub `lint` minus start-up (one-item run subtracted)', oursItems, Math.max(oursRun.seconds - startupRun.seconds, 1e-6));
line('alex 11.0.1 `text()` (in process)', alexItems, alexRun.seconds);
console.log(`\n(one-item \`lint\` run, i.e. process start-up + catalog compile: ${startupRun.seconds.toFixed(2)} s)`);
