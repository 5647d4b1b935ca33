/**
 * The package's entry points, resolved through package.json `exports` (a package may import itself
 * by name): what each one exports and which modules loading it pulls in. `lt-bench/losses` is the
 * light entry for a user who wants one loss in their own tfjs loop: no sharp, no runner, no data
 * pipeline. The main entry loads sharp only when an image is decoded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/version.js';
import { tempDir } from '../foundation/helpers.js';

/** A resolve hook that appends every module URL it resolves to $GRAPH_LOG. */
const HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.GRAPH_LOG, r.url + '\\n');
  return r;
}`;

interface Loaded {
  /** ESM module URLs resolved while importing the entry. */
  esm: string[];
  /** CommonJS module files in require.cache afterwards (sharp and tfjs are CommonJS). */
  cjs: string[];
  /** What the child printed after the import (the script's result). */
  out: string;
}

/** Imports `specifier` in a fresh node (from the package root), runs `script` with the module as `m`. */
function importInChild(specifier: string, script = ''): Loaded {
  const dir = tempDir('lt-bench-entries-');
  const hook = path.join(dir, 'hook.mjs');
  const log = path.join(dir, 'graph.log');
  writeFileSync(hook, HOOK);
  writeFileSync(log, '');
  const code = `
    import { register, createRequire } from 'node:module';
    register(${JSON.stringify(pathToFileURL(hook).href)});
    const m = await import(${JSON.stringify(specifier)});
    const result = await (async () => { ${script} })();
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify({ cjs, result: result ?? null }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: packageRoot, encoding: 'utf8', env: { ...process.env, GRAPH_LOG: log } });
  assert.equal(r.status, 0, r.stderr);
  const { cjs, result } = JSON.parse(r.stdout) as { cjs: string[]; result: unknown };
  return { esm: [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))], cjs, out: JSON.stringify(result) };
}

const own = (urls: string[]) => urls.filter((u) => u.includes('/dist/src/')).map((u) => u.slice(u.indexOf('/dist/src/') + '/dist/src/'.length));
const sharpLoaded = (l: Loaded) => l.esm.some((u) => /\/node_modules\/sharp\//.test(u)) || l.cjs.some((f) => f.includes(`${path.sep}sharp${path.sep}`));

test("lt-bench/losses: createLoss works and the import loads neither sharp nor the runner, data, model or CLI code", () => {
  // softmax CE of logits [0, 0] for label 0 is ln 2; of [ln 3, 0] for label 1 is ln 4.
  const l = importInChild('lt-bench/losses', `
    const tf = await import('@tensorflow/tfjs');
    const loss = m.createLoss('softmax', { classCounts: [10, 1] });
    const v = loss(tf.tensor2d([[0, 0], [Math.log(3), 0]]), tf.tensor1d([0, 1], 'int32')).dataSync()[0];
    return { v, names: m.lossNames, rng: typeof m.Rng };`);
  const { v, names, rng } = JSON.parse(l.out) as { v: number; names: string[]; rng: string };
  assert.ok(Math.abs(v - (Math.log(2) + Math.log(4)) / 2) < 1e-6, `mean CE ${v}`);
  assert.ok(names.includes('ldam-drw') && names.includes('balanced-softmax'));
  const mods = own(l.esm);
  assert.equal(rng, 'function', 'Rng (for ESQL) is exported too');
  assert.ok(mods.includes('losses-entry.js'), `resolved through exports to dist/src/losses-entry.js: ${mods.join(', ')}`);
  assert.equal(sharpLoaded(l), false, 'sharp was loaded');
  const heavy = mods.filter((m) => /^(runner|sweep|index)\.js$|^(cli|data|stages|train|results|models|methods|backends)\//.test(m));
  assert.deepEqual(heavy, [], `lt-bench/losses loaded ${heavy.join(', ')}`);
});

test('lt-bench: the main entry resolves, exports the API the README shows, and does not load sharp until an image is decoded', () => {
  const l = importInChild('lt-bench', `return ['createLoss', 'runRecipe', 'loadRecipe', 'recipeHash', 'buildTables', 'evaluateRun'].filter((k) => typeof m[k] !== 'function');`);
  assert.equal(l.out, '[]', 'missing exports');
  assert.ok(own(l.esm).includes('index.js'));
  assert.equal(sharpLoaded(l), false, 'sharp was loaded by importing lt-bench');
});

test("package.json: main, types and every exports target exist in the build (tsc writes dist/src/)", () => {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { main: string; types: string; exports: Record<string, string | Record<string, string>> };
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))];
  for (const t of targets) {
    const r = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(packageRoot, t))})`]);
    assert.equal(r.status, 0, `${t} does not exist`);
  }
});
