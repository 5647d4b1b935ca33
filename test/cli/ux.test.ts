/**
 * The CLI's everyday messages (issue 11): validate over many files and globs, did-you-mean,
 * dry-run's run id and reference runs, the UA line, '1 epoch', empty-group warnings, the
 * `recipes` listing, the tfjs banner, and the up-front path checks behind exit codes 2 and 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';
import { closest, editDistance, knownKeysAt } from '../../src/recipe/suggest.js';
import { recipeSchema } from '../../src/recipe/schema.js';
import { emptyGroupWarnings } from '../../src/data/group-check.js';
import { formatRunResult, uaLine } from '../../src/cli/format.js';
import { referenceRecipes } from '../../src/lifecycle/index.js';
import type { RunResult } from '../../src/runner.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { checkDataDir, checkOutputDir, fromFsError } from '../../src/paths.js';
import { DataError, UsageError } from '../../src/errors.js';
import { fakeRecord } from '../results/fixtures.js';
import { tempDir, testBackend, tinyRecipe, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: packageRoot, env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tinyYaml = {
  dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 } },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs: 1, batchSize: 8 },
  eval: { thresholds: { head: 5, tail: 3 } },
};

test('editDistance and closest: hand-computed distances; only typo-close keys are suggested', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('bachSize', 'batchSize'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('gama', 'gamma'), 1);
  assert.equal(closest('bachSize', ['epochs', 'batchSize', 'seed']), 'batchSize');
  assert.equal(closest('EPOCHS', ['epochs', 'seed']), 'epochs');
  // 'lr' vs 'seed': 4 edits for a 2-letter word is no typo.
  assert.equal(closest('lr', ['seed', 'epochs']), null);
  assert.ok(knownKeysAt(recipeSchema, ['train']).includes('batchSize'));
  assert.ok(knownKeysAt(recipeSchema, ['train', 'optimizer']).includes('momentum'));
  assert.ok(knownKeysAt(recipeSchema, []).includes('dataset'));
});

test('validate checks every file (a bad one does not hide the next), expands quoted globs, exits 2 if any is bad', () => {
  const dir = tempDir();
  writeYaml(dir, 'set/a.yaml', tinyYaml);
  writeYaml(dir, 'set/b.yaml', { ...tinyYaml, method: { name: 'focal' } });
  writeYaml(dir, 'set/_base/partial.yaml', { train: { epochs: 3 } });
  const bad1 = writeYaml(dir, 'bad1.yaml', { ...tinyYaml, train: { epochs: 1, bachSize: 8 } });
  const bad2 = writeYaml(dir, 'bad2.yaml', { ...tinyYaml, method: { name: 'focl' } });
  const r = cli(['validate', bad1, path.join(dir, 'set', '*.yaml'), bad2]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => path.basename(l.split(/\s+/)[1])), ['a.yaml', 'b.yaml']);
  assert.match(r.stdout, /softmax, resnet8, 1 epoch, hash/);
  assert.match(r.stderr, /bad1\.yaml: train: unknown key 'bachSize' \(did you mean 'batchSize'\?\)/);
  assert.match(r.stderr, /bad2\.yaml: method\.name: unknown method 'focl' \(did you mean 'focal'\?\)/);
  assert.match(r.stderr, /2 of 4 recipe\(s\) invalid/);
  const ok = cli(['validate', path.join(dir, 'set', '*.yaml')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(cli(['validate', path.join(dir, 'none-*.yaml')]).code, 2);
});

test('run --dry-run prints the run id, what run would do and the reference runs it would train', () => {
  const r = cli(['run', path.join(packageRoot, 'recipes', 'fashion-lt', 'esql.yaml'), '--dry-run', '--output', tempDir()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# recipe hash [0-9a-f]{64}$/m);
  assert.match(r.stdout, /^# run id esql-fashion-mnist-lt100-[0-9a-f]{12}: train \(/m);
  assert.match(r.stdout, /^#   A_v softmax-fashion-mnist-lt100-bal-[0-9a-f]{12}: train \(fashion-lt\/esql@balanced-vanilla, plain softmax\)$/m);
  assert.match(r.stdout, /^#   A_b esql-fashion-mnist-lt100-bal-[0-9a-f]{12}: train \(fashion-lt\/esql@balanced\)$/m);
  assert.match(r.stdout, /^method:\n {2}name: esql$/m);
});

test('run --dry-run of an image-list recipe without its data still prints the hash and says the run id needs the data', () => {
  const r = cli(['run', path.join(packageRoot, 'recipes', 'imagenet-lt', 'table5', 'softmax-e90.yaml'), '--dry-run', '--data-root', tempDir()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# recipe hash [0-9a-f]{64}$/m);
  assert.match(r.stdout, /^# run id: needs the data \(it hashes the split\): /m);
  assert.match(r.stdout, /reference runs .*their ids need the data too/);
});

test('the plain-softmax reference run is labelled @balanced-vanilla; names stay out of the hash', () => {
  const recipe = tinyRecipe({ reference: 'auto', method: { name: 'focal' } });
  const refs = referenceRecipes(recipe);
  assert.equal(refs.vanilla.name, 'tiny@balanced-vanilla');
  assert.equal(refs.method.name, 'tiny@balanced');
  assert.equal(recipeHash(refs.vanilla), recipeHash({ ...refs.vanilla, name: 'tiny@balanced-softmax' }));
});

function result(epochs: number, vanilla: number, method: number, sameRun = false): RunResult {
  const rec = fakeRecord({ runId: 'focal-x-1', method: 'focal', epochs, top1: 60, vanilla: 'softmax-bal-1', methodBalanced: sameRun ? 'softmax-bal-1' : 'focal-bal-2' });
  rec.reference = { ...rec.reference!, ua: Math.max(vanilla, method), ra: (100 * 60) / Math.max(vanilla, method) };
  const v = fakeRecord({ runId: 'softmax-bal-1', method: 'softmax', epochs, top1: vanilla, balanced: true });
  const b = fakeRecord({ runId: sameRun ? 'softmax-bal-1' : 'focal-bal-2', method: 'focal', epochs, top1: method, balanced: true });
  return { record: rec, dir: '/r/focal-x-1', reused: false, references: { vanilla: { record: v, dir: '', reused: false }, method: { record: b, dir: '', reused: false } } };
}

test('the UA line gives A_v and A_b with their values and their own run ids; "1 epoch"', () => {
  // UA = max(70, 75) = 75; RA = 100·60/75 = 80.
  assert.equal(uaLine(result(1, 70, 75)), 'A_v = 70.00 (softmax-bal-1), A_b = 75.00 (focal-bal-2); UA = max(A_v, A_b) = 75.00; RA = 100·Acc/UA = 80.00');
  assert.equal(uaLine(result(1, 80, 80, true)), 'A_v = A_b = 80.00 (softmax-bal-1: plain softmax is this method); UA = 80.00; RA = 100·Acc/UA = 75.00');
  const text = formatRunResult(result(1, 70, 75));
  assert.match(text, /on resnet8, 1 epoch, /);
  assert.doesNotMatch(text, /1 epochs/);
  assert.match(formatRunResult(result(2, 70, 75)), /, 2 epochs, /);
});

test('emptyGroupWarnings: says which group is empty and why (thresholds against counts)', () => {
  const t = { head: 100, tail: 20 };
  // As the split computes them: head > 100, tail < 20, middle between.
  const groups = (counts: number[]) => counts.map((n) => (n > t.head ? 'head' : n < t.tail ? 'tail' : 'middle') as 'head' | 'middle' | 'tail');
  const warn = (counts: number[], cap?: number) => emptyGroupWarnings(groups(counts), counts, t, cap);
  assert.deepEqual(warn([300, 150, 50, 10]), []);
  const [head] = warn([90, 50, 10], 90);
  assert.match(head, /^the head group is empty: head classes need more than 100 training images \(eval\.thresholds\.head\), the largest class has 90 \(dataset\.maxPerClass 90 caps it\)/);
  assert.match(warn([300, 150, 50]).join('\n'), /^the tail group is empty: .* fewer than 20 .* the smallest class has 50/);
  assert.match(warn([300, 150, 10]).join('\n'), /^the middle group is empty: no class has between 20 and 100 training images .*counts run from 10 to 300/);
  // A boundary class: 100 is middle (head is > 100), 20 is middle (tail is < 20).
  assert.deepEqual(warn([101, 100, 19]), []);
  // A balanced twin (equal counts) keeps its LT split's groups: those decide, not its own counts.
  assert.deepEqual(emptyGroupWarnings(groups([300, 150, 10]).map((g) => (g === 'middle' ? 'tail' : g)), null, t).length, 1);
  assert.deepEqual(emptyGroupWarnings(groups([300, 50, 10]), null, t), []);
  assert.match(emptyGroupWarnings(['middle', 'tail'], null, t)[0], /^the head group is empty: .* and no class of the long-tailed split does;/);
});

test('--set dataset.maxPerClass that empties the head group warns on stderr (dry-run and run)', () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'r.yaml', tinyYaml);
  const r = cli(['run', file, '--dry-run', '--set', 'dataset.maxPerClass=4', '--output', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: the head group is empty: head classes need more than 5 training images \(eval\.thresholds\.head\), the largest class has 4 \(dataset\.maxPerClass 4 caps it\)/m);
  const quiet = cli(['run', file, '--quiet', '--set', 'dataset.maxPerClass=4', '--output', dir, '--backend', testBackend]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr.match(/warning: .*head group is empty/g)?.length, 1, quiet.stderr);
});

test('lt-bench recipes lists every shipped recipe with method, dataset, backbone and budget; a broken one is an error row, exit 2', () => {
  // The sweep file of the ImageNet-LT study sits among the recipes and is not one of them.
  const study = path.join('imagenet-lt', 'study.yaml');
  const shipped = readdirSync(path.join(packageRoot, 'recipes'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml') && !f.split(path.sep).includes('_base') && f !== study);
  const r = cli(['recipes', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.equal(rows.length, shipped.length);
  assert.equal(rows.some((x: any) => x.file === study), false);
  assert.deepEqual(rows.find((x: any) => x.file === 'quickstart.yaml'), {
    file: 'quickstart.yaml', name: 'quickstart', method: 'softmax', dataset: 'fashion-mnist-lt100', backbone: 'resnet8', epochs: 1, stage2: null, reference: 'auto', error: null,
  });
  assert.deepEqual(rows.find((x: any) => x.file === path.join('fashion-lt', 'decouple-crt.yaml')).stage2, { strategy: 'crt', epochs: 10 });
  const text = cli(['recipes']);
  assert.match(text.stdout, /^quickstart\.yaml\s+softmax\s+fashion-mnist-lt100\s+resnet8\s+1 epoch {2}\(\+ balanced references\)$/m);

  const dir = tempDir();
  writeYaml(dir, 'good.yaml', tinyYaml);
  writeYaml(dir, 'sub/broken.yaml', { ...tinyYaml, backbone: { name: 'resnt8' } });
  writeYaml(dir, '_base/piece.yaml', { train: { epochs: 2 } });
  const mixed = cli(['recipes', dir]);
  assert.equal(mixed.code, 2, mixed.stderr);
  assert.match(mixed.stdout, /^good\.yaml\s+softmax\s+synthetic-lt4\s+resnet8\s+1 epoch$/m);
  assert.match(mixed.stdout, /^sub\/broken\.yaml {2}ERROR .*unknown backbone 'resnt8' \(did you mean 'resnet8'\?\)/m);
  assert.match(mixed.stderr, /1 of 2 recipe\(s\) under .* do not load/);
  assert.equal(cli(['recipes', path.join(dir, 'nowhere')]).code, 2);
});

test("the first tensor op after importing the library prints no tfjs banner (tfjs alone does: the check can fail)", () => {
  const op = "const tf = await import('@tensorflow/tfjs'); tf.tensor([1, 2]).add(1).dataSync();";
  const run = (code: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: packageRoot, encoding: 'utf8' });
  const banner = /looks like you are running TensorFlow\.js in Node\.js/;
  assert.match(run(op).stderr, banner);
  const index = path.join(packageRoot, 'dist', 'src', 'index.js');
  const withLib = run(`await import(${JSON.stringify(index)}); ${op}`);
  assert.equal(withLib.status, 0, withLib.stderr);
  assert.doesNotMatch(withLib.stderr, banner);
});

test('checkOutputDir / checkDataDir: decided before any mkdir; one line naming the path', () => {
  const dir = tempDir();
  const file = path.join(dir, 'f');
  writeFileSync(file, 'x');
  assert.equal(checkOutputDir(path.join(dir, 'new', 'deeper')), path.join(dir, 'new', 'deeper'));
  assert.equal(checkOutputDir(dir), dir);
  const usage = (f: () => unknown, msg: RegExp) => assert.throws(f, (e: unknown) => e instanceof UsageError && e.exitCode === 2 && msg.test(e.message));
  usage(() => checkOutputDir('/proc/nope', '--output'), /^--output \/proc\/nope: under \/proc, a pseudo-filesystem/);
  usage(() => checkOutputDir('/sys'), /under \/sys/);
  usage(() => checkOutputDir('/dev/shm-not/x'), /under \/dev/);
  usage(() => checkOutputDir(file), /: is a file, not a directory$/);
  usage(() => checkOutputDir(path.join(file, 'a', 'b')), new RegExp(`${file} is a file, not a directory$`));
  // A relative path that resolves under /proc is caught too.
  usage(() => checkOutputDir(path.relative(process.cwd(), '/proc/self/x')), /under \/proc/);
  mkdirSync(path.join(dir, 'data'));
  assert.equal(checkDataDir(path.join(dir, 'data')), path.join(dir, 'data'));
  assert.throws(() => checkDataDir(path.join(dir, 'none'), '--data-root'), (e: unknown) => e instanceof DataError && e.exitCode === 3 && /--data-root .*none: no such directory/.test(e.message));
  assert.throws(() => checkDataDir(file), (e: unknown) => e instanceof DataError && /is a file, not a directory/.test(e.message));
});

test('fromFsError: writes map to exit 2, reads to exit 3, one line with the path; other errors are left alone', () => {
  const errno = (code: string, syscall: string, p: string) => Object.assign(new Error(`${code}: x, ${syscall} '${p}'`), { code, syscall, path: p });
  const ro = fromFsError(errno('EROFS', 'open', '/mnt/ro/run.json'))!;
  assert.equal(ro.exitCode, 2);
  assert.equal(ro.message, '/mnt/ro/run.json: read-only filesystem (writing; EROFS from open)');
  assert.equal(fromFsError(errno('ENOSPC', 'write', '/full/x'))!.exitCode, 2);
  assert.equal(fromFsError(errno('EACCES', 'mkdir', '/root/x'))!.exitCode, 2);
  const missing = fromFsError(errno('ENOENT', 'open', '/data/list.txt'))!;
  assert.equal(missing.exitCode, 3);
  assert.equal(missing.message, '/data/list.txt: no such file or directory (reading; ENOENT from open)');
  assert.equal(fromFsError(errno('EISDIR', 'read', '/data'))!.exitCode, 3);
  assert.equal(fromFsError(new Error('plain')), null);
  assert.equal(fromFsError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), null);
});
