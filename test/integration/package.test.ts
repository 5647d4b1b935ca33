/**
 * The package as a user gets it: `npm pack` the built checkout, install the tarball into a scratch
 * project (from the npm cache when it can: --prefer-offline), then import both entries and run the
 * installed CLI there. Catches what the in-repo tests cannot: package.json `main`/`exports`
 * naming files that are not shipped, a runtime dependency listed as a devDependency, files the
 * CLI reads at run time (the vendored Fashion-MNIST, the paper's numbers) missing from `files`,
 * declarations a TypeScript user cannot resolve.
 * About a minute (npm pack and the install dominate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';

/** The environment without what `npm run` adds about this package (npm would apply it to the scratch project). */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|offline|prefer_offline)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.test(k)));
}

function sh(cmd: string, args: string[], opts: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: cleanEnv(), maxBuffer: 64 << 20, ...opts });
  const out = { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (r.error) throw r.error;
  return out;
}

test('npm pack → npm install in a scratch project → import lt-bench and lt-bench/losses, run the installed CLI', { timeout: 600_000 }, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'lt-bench-pack-'));
  const packed = sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageRoot });
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; entryCount: number; size: number; files: Array<{ path: string }> }>;
  const files = info.files.map((f) => f.path);

  // What the tarball holds: the library, the CLI, recipes, native sources, the torch build
  // script, the vendored Fashion-MNIST and the manifests, the paper's numbers, docs/; no tests or source maps.
  for (const f of [
    'bin/lt-bench.js',
    'bin/package.json',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/losses-entry.js',
    'dist/src/cli/main.js',
    'dist/src/data/image-pipeline.worker.js',
    'recipes/quickstart.yaml',
    'recipes/recipe.schema.json',
    'native/torch/binding.gyp',
    'scripts/build-torch.mjs',
    'scripts/slurm-cluster.sh',
    'datasets/fashion-mnist/train-images-idx3-ubyte.gz',
    'datasets/imagenet-lt/manifest.json',
    'results/reference/survey-tables.json',
    'README.md',
    'docs/architecture.md',
  ]) {
    assert.ok(files.includes(f), `tarball lacks ${f}`);
  }
  const unwanted = files.filter((f) => /^(test|dist\/test|dist\/scripts|src|\.ci)\//.test(f) || f.endsWith('.map') || f.startsWith('native/torch/build/'));
  assert.deepEqual(unwanted, [], 'tests, TypeScript sources, source maps and native builds stay out of the tarball');
  // Every compiled file answers to a source file: a stale build of a deleted or renamed module
  // would ship (and could be imported) otherwise. A count bound broke each time a method was added.
  const orphans = files
    .filter((f) => f.startsWith('dist/src/'))
    .map((f) => f.replace(/^dist\//, '').replace(/(\.d)?\.js$|\.d\.ts$/, '.ts'))
    .filter((src) => !existsSync(path.join(packageRoot, src)));
  assert.deepEqual(orphans, [], 'compiled files without a source in src/ (a stale dist/)');
  assert.ok(info.size < 40e6, `the tarball is ${(info.size / 1e6).toFixed(1)} MB (the vendored Fashion-MNIST is ~30 MB of it)`);

  const scratch = path.join(work, 'scratch');
  mkdirSync(scratch);
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const installed = sh('npm', ['install', path.join(work, info.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch });
  assert.equal(installed.code, 0, `npm install failed:\n${installed.stderr}`);

  // The main entry (a loss on the peer-installed tfjs: CE of [0, 0] for label 0 is ln 2) and the light one.
  const imported = sh(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const tf = await import('@tensorflow/tfjs');
       const m = await import('lt-bench');
       const v = m.createLoss('softmax', { classCounts: [3, 1] })(tf.tensor2d([[0, 0]]), tf.tensor1d([0], 'int32')).dataSync()[0];
       const l = await import('lt-bench/losses');
       const w = l.createLoss('balanced-softmax', { classCounts: [3, 1] })(tf.tensor2d([[0, 0]]), tf.tensor1d([1], 'int32')).dataSync()[0];
       process.stdout.write(JSON.stringify({ v, w, runRecipe: typeof m.runRecipe, same: m.createLoss === l.createLoss }));`,
    ],
    { cwd: scratch },
  );
  assert.equal(imported.code, 0, imported.stderr);
  const r = JSON.parse(imported.stdout) as { v: number; w: number; runRecipe: string; same: boolean };
  assert.ok(Math.abs(r.v - Math.log(2)) < 1e-6, `softmax CE ${r.v}`);
  // Balanced softmax: CE(z + log π) with π = [3/4, 1/4], label 1: −log(1/4) = ln 4.
  assert.ok(Math.abs(r.w - Math.log(4)) < 1e-6, `balanced-softmax ${r.w}`);
  assert.equal(r.runRecipe, 'function');
  assert.equal(r.same, true, 'both entries share one loss module');

  // The declarations, as a TypeScript user compiles against them (NodeNext resolution reads `exports`' types).
  writeFileSync(
    path.join(scratch, 'check.ts'),
    `import { createLoss, Rng, type LossFn } from 'lt-bench/losses';
import { loadRecipe, runRecipe, type RunResult } from 'lt-bench';
const f: LossFn = createLoss('softmax', { classCounts: [1, 2] });
const r: Promise<RunResult> = runRecipe(loadRecipe('x.yaml').recipe);
void f; void r; void new Rng(1);
`,
  );
  writeFileSync(
    path.join(scratch, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check.ts'] }),
  );
  const tsc = sh(process.execPath, [path.join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', scratch], { cwd: scratch });
  assert.equal(tsc.code, 0, `the installed declarations do not type-check a user's import:\n${tsc.stdout}${tsc.stderr}`);

  // The installed CLI, as a user runs it.
  const bin = path.join(scratch, 'node_modules', '.bin');
  const env = { ...cleanEnv(), PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, CI: 'true' };
  const version = sh('lt-bench', ['--version'], { cwd: scratch, env });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), '0.1.0');
  const methods = sh('npx', ['--no-install', 'lt-bench', 'methods', '--json'], { cwd: scratch, env });
  assert.equal(methods.code, 0, methods.stderr);
  assert.ok((JSON.parse(methods.stdout) as Array<{ name: string }>).some((m) => m.name === 'ldam-drw'));

  // Files the CLI reads from its own package: the vendored Fashion-MNIST the quickstart trains on
  // (found without --data-root) and the paper's numbers behind `table --paper`.
  const quickstart = path.join(scratch, 'node_modules', 'lt-bench', 'recipes', 'quickstart.yaml');
  const stats = sh('lt-bench', ['data', 'stats', '--recipe', quickstart, '--json'], { cwd: scratch, env });
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal((JSON.parse(stats.stdout) as { numClasses: number }).numClasses, 10);
  const table = sh('lt-bench', ['table', '--paper', '--results', path.join(work, 'no-results'), '--format', 'json'], { cwd: scratch, env });
  assert.equal(table.code, 0, table.stderr);
});
