/**
 * The regression check can fail: a real bug planted in a copy of the built package (the sign of
 * Balanced Softmax's log-prior flipped, so training pushes the model towards the head classes
 * instead of away from them) must make `lt-bench check` — with the baseline's tolerances, not
 * --exact — exit 1 and name ci/balanced-softmax as regressed, while the same copy without the bug
 * passes. Spawns the copy's own CLI on the CI sweep (recipes/ci/, wasm, seed 0).
 *
 * Cost: the unplanted CI sweep (three runs) plus one planted run. `.ci/run` passes its own
 * regression sweep's results in LT_BENCH_CI_RESULTS, so only the planted run trains here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const BASELINE = 'results/reference/ci-baseline.yaml';
const PLANT_FILE = 'dist/src/losses/balanced-softmax.js';
const PLANT_SITE = 'const offset = logPrior(classCounts);';
const PLANTED = 'const offset = logPrior(classCounts).map((v) => -v); // planted regression';

interface CheckJson {
  ok: boolean;
  lines: Array<{ run: string; metric: string; status: string; expected: number; measured: number | null; tolerance: number }>;
}

/** A copy of the built package a test may break: code copied, node_modules linked. */
function copyPackage(dir: string): void {
  for (const p of ['dist', 'bin', 'package.json', 'recipes', 'datasets', 'results/reference']) {
    cpSync(path.join(repo, p), path.join(dir, p), { recursive: true });
  }
  symlinkSync(realpathSync(path.join(repo, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
}

function cli(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/lt-bench.js', ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sweep(cwd: string, output: string): void {
  const r = cli(cwd, ['sweep', 'recipes/ci/*.yaml', '--backend', 'wasm', '--output', output]);
  assert.equal(r.status, 0, `sweep failed:\n${r.stdout}\n${r.stderr}`);
}

function check(cwd: string, results: string, json: boolean) {
  return cli(cwd, ['check', '--baseline', BASELINE, '--results', results, ...(json ? ['--json'] : [])]);
}

/** Run directories of the results dir whose record is named `name`. */
function runDirsNamed(results: string, name: string): string[] {
  return readdirSync(results).filter((d) => {
    const f = path.join(results, d, 'run.json');
    return existsSync(f) && (JSON.parse(readFileSync(f, 'utf8')) as { name: string }).name === name;
  });
}

test('a planted sign error in Balanced Softmax fails the CI regression check (exit 1, named); the unplanted copy passes', { timeout: 40 * 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lt-bench-planted-'));
  try {
    copyPackage(dir);
    const clean = path.join(dir, 'results-clean');
    const reuse = process.env.LT_BENCH_CI_RESULTS;
    if (reuse) cpSync(reuse, clean, { recursive: true });
    else sweep(dir, clean);

    const ok = check(dir, clean, false);
    assert.equal(ok.status, 0, `the unplanted CI sweep should pass its baseline:\n${ok.stdout}\n${ok.stderr}`);
    assert.match(ok.stdout, /^OK: 12 checks within tolerance/m);

    // Plant the bug in the copy's compiled loss.
    const file = path.join(dir, PLANT_FILE);
    const source = readFileSync(file, 'utf8');
    assert.ok(source.includes(PLANT_SITE), `plant site \`${PLANT_SITE}\` not found in ${PLANT_FILE}: the loss moved; update this test's plant`);
    writeFileSync(file, source.replace(PLANT_SITE, PLANTED));

    // The other two methods' finished runs are reused; only Balanced Softmax trains, with the bug.
    const planted = path.join(dir, 'results-planted');
    cpSync(clean, planted, { recursive: true });
    const bsDirs = runDirsNamed(planted, 'ci/balanced-softmax');
    assert.ok(bsDirs.length > 0, 'no ci/balanced-softmax run in the CI results');
    for (const d of bsDirs) rmSync(path.join(planted, d), { recursive: true });
    sweep(dir, planted);

    const text = check(dir, planted, false);
    assert.equal(text.status, 1, `check should exit 1 on the planted regression:\n${text.stdout}\n${text.stderr}`);
    assert.match(text.stdout, /^ci\/balanced-softmax\s+\w+\s.*REGRESSED$/m);
    assert.match(text.stdout, /^FAILED: \d+ of 12 checks regressed or missing$/m);

    const json = check(dir, planted, true);
    const result = JSON.parse(json.stdout) as CheckJson;
    assert.equal(result.ok, false);
    const regressed = result.lines.filter((l) => l.status === 'regressed');
    assert.ok(regressed.length > 0);
    // Only the planted method regressed: the others were not retrained and must still pass.
    assert.deepEqual([...new Set(regressed.map((l) => l.run))], ['ci/balanced-softmax']);
    assert.ok(result.lines.filter((l) => l.run !== 'ci/balanced-softmax').every((l) => l.status === 'ok' || l.status === 'improved'));
    // The bug biases the model towards the head classes: the tail must be among what regressed.
    assert.ok(regressed.some((l) => l.metric === 'tail'), `tail not regressed: ${JSON.stringify(result.lines.filter((l) => l.run === 'ci/balanced-softmax'))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
