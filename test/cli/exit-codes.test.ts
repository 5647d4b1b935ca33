/**
 * The exit codes the README promises, through the real binary: 0 ok, 1 a run/check failed, 2 a
 * usage or recipe error, 3 missing or corrupt data, 130 interrupted. One table of command lines,
 * each with the code and a fragment of the one-line message on stderr (and never a stack trace).
 * Interrupt (130) is exercised by 'Ctrl-C saves last and exits 130…' in test/foundation/cli.test.ts,
 * which needs a real training run to interrupt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';
import { tempDir, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
delete env.LT_BENCH_DATA;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env, cwd: packageRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: child.exitCode ?? (err as { code?: number } | null)?.code ?? null, stdout, stderr });
    });
  });
}

const dir = tempDir('lt-bench-exit-');
// Trains in a second if it ever got that far; every row below fails before training.
const tiny = writeYaml(dir, 'tiny.yaml', {
  dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 } },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs: 1, batchSize: 8 },
  eval: { thresholds: { head: 5, tail: 3 } },
});
const typo = writeYaml(dir, 'typo.yaml', { dataset: { name: 'synthetic' }, backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1, bachSize: 8 } });
// CIFAR without any data location: every run of a sweep over these fails.
const cifarA = writeYaml(dir, 'sweep/a.yaml', { dataset: { name: 'cifar10', valSource: 'test', valPerClass: 0 }, backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1 } });
const cifarB = writeYaml(dir, 'sweep/b.yaml', { dataset: { name: 'cifar10', valSource: 'test', valPerClass: 0 }, backbone: { name: 'resnet8' }, method: { name: 'focal' }, train: { epochs: 1 } });
const recipeDir = path.join(dir, 'a-directory.yaml');
mkdirSync(recipeDir);
const aFile = path.join(dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const emptyResults = path.join(dir, 'empty-results');
mkdirSync(emptyResults);
const missing = path.join(dir, 'missing');

const table: Array<[args: string[], code: number, stderr: RegExp]> = [
  // usage and recipe errors → 2
  [['run', tiny, '--no-such-option'], 2, /unknown option '--no-such-option'/],
  [['validate', typo], 2, /typo\.yaml: train: unknown key 'bachSize' \(did you mean 'batchSize'\?\)/],
  [['run', path.join(dir, 'missing.yaml')], 2, /missing\.yaml: recipe file not found/],
  [['run', recipeDir], 2, /a-directory\.yaml: is a directory, not a recipe file/],
  [['validate', recipeDir, tiny], 2, /1 of 2 recipe\(s\) invalid/],
  [['check', '--baseline', path.join(dir, 'missing.yaml'), '--results', emptyResults], 2, /--baseline .*missing\.yaml: no such file or directory/],
  [['run', tiny, '--output', '/proc/nope'], 2, /--output \/proc\/nope: under \/proc, a pseudo-filesystem/],
  [['sweep', tiny, '--output', '/proc/nope/deeper'], 2, /--output \/proc\/nope\/deeper: under \/proc/],
  [['run', tiny, '--output', aFile], 2, /--output .*a-file: is a file, not a directory/],
  [['run', tiny, '--output', path.join(aFile, 'sub')], 2, /a-file is a file, not a directory/],
  [['plot', '--results', emptyResults, '--out', '/proc/nope'], 2, /--out \/proc\/nope: under \/proc/],
  [['check', '--update', '--baseline', path.join(aFile, 'baseline.yaml'), '--results', emptyResults], 2, /--baseline .*baseline\.yaml: .*a-file is a file, not a directory/],
  // data errors → 3
  [['run', tiny, '--output', dir, '--data-root', missing], 3, /--data-root .*missing: no such directory/],
  [['data', 'stats', '--dataset', 'cifar10', '--data-root', missing], 3, /--data-root .*missing: no such directory/],
  [['data', 'stats', '--dataset', 'cifar10'], 3, /cifar10: no dataset location; pass --data-root DIR/],
  [['data', 'make', 'class-folder', '--root', missing, '--out', path.join(dir, 'lists')], 3, /missing/],
  // a failed check or sweep → 1
  [['check', '--baseline', path.join(packageRoot, 'results', 'reference', 'ci-baseline.yaml'), '--results', emptyResults], 1, /regressed or missing/],
  [['sweep', cifarA, cifarB, '--output', dir], 1, /2 of 2 run\(s\) failed/],
];

test('exit codes: every (command, failure class) pair through the real binary, one line on stderr', async () => {
  const outcomes: Outcome[] = [];
  // Four at a time: each spawn spends most of its second loading modules.
  for (let i = 0; i < table.length; i += 4) outcomes.push(...(await Promise.all(table.slice(i, i + 4).map(([args]) => cli(args)))));
  const wrong: string[] = [];
  table.forEach(([args, code, stderr], i) => {
    const o = outcomes[i];
    const why = [o.code !== code && `exit ${o.code}, expected ${code}`, !stderr.test(o.stderr) && `stderr lacks ${stderr}`, /\n\s+at /.test(o.stderr) && 'a stack trace'].filter(Boolean);
    if (why.length > 0) wrong.push(`lt-bench ${args.join(' ')}: ${why.join('; ')}\n  stderr: ${o.stderr.trim().split('\n').slice(0, 3).join('\n  ')}`);
  });
  assert.deepEqual(wrong, []);
});

test('exit codes: a read-only output directory (a read-only tmpfs: root ignores file modes) exits 2 naming it', (t) => {
  const ro = path.join(tempDir('lt-bench-ro-'), 'ro');
  mkdirSync(ro);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { encoding: 'utf8' });
  if (m.status !== 0) {
    // CI must run this case; elsewhere (no mount permission) it is skipped, and says why.
    assert.notEqual(process.env.CI, 'true', `mount of a read-only tmpfs failed under CI: ${m.stderr || m.error}`);
    t.skip(`cannot mount a tmpfs here: ${(m.stderr || String(m.error)).trim()}`);
    return;
  }
  try {
    const r = spawnSync(process.execPath, [bin, 'run', tiny, '--output', path.join(ro, 'results')], { encoding: 'utf8', env });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--output ${ro}/results: ${ro}: not writable \\(read-only filesystem\\)`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    spawnSync('umount', [ro]);
  }
});
