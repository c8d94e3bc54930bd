// Peer comparison: FeedbackHub's language checker (the `lint` command, both engines) vs alex on the labeled sets.
// Usage: node compare.mjs [--repeat-ours N] [--repeat-alex N]
//        (run from anywhere; expects `dotnet build -c Release src/Api` first)
// Prints markdown tables: quality on the three holdouts and on corpus.jsonl, per category on the 2026-12-05 holdout,
// and throughput.
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
  return readFileSync(join(root, file), 'utf8')
    .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function runOurs(items, engine = 'full') {
  const input = join(work, 'input.jsonl');
  const output = join(work, 'output.jsonl');
  writeFileSync(input, items.map((i) => JSON.stringify({ id: i.id, text: i.text })).join('\n') + '\n');
  const fd = openSync(output, 'w');
  const start = performance.now();
  // stdout goes straight to a file, so the timing is the process, not node's pipe buffering.
  const run = spawnSync('dotnet', [dll, 'lint', '--input', input, '--engine', engine], { stdio: ['ignore', fd, 'inherit'] });
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
  const full = runOurs(items, 'full');
  const rules = runOurs(items, 'rules');
  const alex = runAlex(items);
  const alexNoPronouns = runAlex(items, pronounRules);
  const rows = [
    ['FeedbackHub full: rules + model (category must match)', score(items, full, true)],
    ['FeedbackHub rules only (category must match)', score(items, rules, true)],
    ['FeedbackHub full (any finding)', score(items, full, false)],
    ['FeedbackHub rules only (any finding)', score(items, rules, false)],
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

const corpus = load('tests/Domain.Tests/Language/corpus.jsonl');
const holdout = load('tests/Domain.Tests/Language/holdout.jsonl');
const holdout2 = load('data/language/holdout/holdout.jsonl');
const holdout3 = load('data/language/holdout/holdout3.jsonl');
const rows = qualityTable('data/language/holdout/holdout3.jsonl (2026-12-05, written independently, never used for training or thresholds)', holdout3);
qualityTable('data/language/holdout/holdout.jsonl (2026-12, written independently, never used for training or thresholds)', holdout2);
qualityTable('tests/Domain.Tests/Language/holdout.jsonl (written after the rules, never used for tuning or training)', holdout);
qualityTable('corpus.jsonl (training data of the model: not a fair test of the full engine)', corpus);

// Per category (2026-12-05 holdout): recall over the category's risky items; precision counts the hard-safe items of
// the same topic that were flagged. Ours: a finding of the item's category is needed; alex has no categories (any message).
console.log('\n### Per category, 2026-12-05 holdout (ours: category must match; alex: any message; FP = safe items of that topic flagged)\n');
console.log('| category | full P | full R | full F1 | rules P | rules R | rules F1 | alex P | alex R | alex F1 | alex (no pronouns) P | R | F1 |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const [, oursFull] = rows[0], [, oursRules] = rows[1], [, alexDefault] = rows[4], [, alexNp] = rows[5];
const none = { tp: 0, fp: 0, fn: 0 };
for (const c of Object.keys(oursFull.cats).sort()) {
  const a = pr(oursFull.cats[c]), r = pr(oursRules.cats[c] ?? none), b = pr(alexDefault.cats[c] ?? none), d = pr(alexNp.cats[c] ?? none);
  console.log(`| ${c} | ${f3(a.p)} | ${f3(a.r)} | ${f3(a.f1)} | ${f3(r.p)} | ${f3(r.r)} | ${f3(r.f1)} | ${f3(b.p)} | ${f3(b.r)} | ${f3(b.f1)} | ${f3(d.p)} | ${f3(d.r)} | ${f3(d.f1)} |`);
}

// Throughput: the corpus repeated (alex is slow, so it gets fewer repetitions; rates are comparable). Ours runs
// as a separate process (includes .NET start-up, catalog compile and JIT, also shown on its own); alex runs in
// this process after import.
const repeated = (n) => Array.from({ length: n }, (_, k) => corpus.map((i) => ({ ...i, id: `${i.id}#${k}` }))).flat();
const megabytes = (items) => items.reduce((n, i) => n + Buffer.byteLength(i.text, 'utf8'), 0) / (1 << 20);
const oursItems = repeated(repeatOurs);
const alexItems = repeated(repeatAlex);
const oursRun = runOurs(oursItems, 'rules');
const startupRun = runOurs(corpus.slice(0, 1), 'rules');
// The full engine caches embeddings by sentence, so it gets distinct text only (the three holdouts and the corpus, once).
const distinct = [...holdout3, ...holdout2, ...holdout, ...corpus].map((i, k) => ({ ...i, id: `d${k}` }));
const fullRun = runOurs(distinct, 'full');
const fullStartupRun = runOurs(corpus.slice(0, 1), 'full');
const alexRun = runAlex(alexItems);
console.log('\n### Throughput (corpus.jsonl repeated)\n');
console.log('| checker | items | MB (UTF-8) | seconds | items/s | MB/s |');
console.log('|---|---:|---:|---:|---:|---:|');
const line = (name, items, s) => {
  const mb = megabytes(items);
  console.log(`| ${name} | ${items.length} | ${mb.toFixed(2)} | ${s.toFixed(2)} | ${Math.round(items.length / s)} | ${(mb / s).toFixed(2)} |`);
};
line('FeedbackHub `lint --engine rules` (whole process, JSON Lines in and out)', oursItems, oursRun.seconds);
line('FeedbackHub `lint --engine rules` minus start-up (one-item run subtracted)', oursItems, Math.max(oursRun.seconds - startupRun.seconds, 1e-6));
line('FeedbackHub `lint --engine full` (distinct text, all cores)', distinct, fullRun.seconds);
line('FeedbackHub `lint --engine full` minus start-up', distinct, Math.max(fullRun.seconds - fullStartupRun.seconds, 1e-6));
line('alex 11.0.1 `text()` (in process)', alexItems, alexRun.seconds);
console.log(`\n(one-item \`lint\` run, i.e. process start-up + catalog compile: rules ${startupRun.seconds.toFixed(2)} s, full ${fullStartupRun.seconds.toFixed(2)} s including the model load)`);
