#!/usr/bin/env node
// `npm run bundle:gpu [-- --out DIR]`: the GPU check bundle, for a machine that has PyTorch with CUDA
// and a C++ compiler but no Node.js, no make and no network. Writes DIR/lt-bench-gpu.tar.gz and,
// beside it, DIR/gpu-check.sh (default DIR: gpu-bundle/). Run `npm run build` first.
//
// The archive's lt-bench-gpu/ holds:
//   node/bin/node, node/include/node   this Node.js binary and its headers (OpenSSL's left out:
//                                      the addon uses only N-API)
//   addon/src, addon/node-addon-api    the torch addon's sources and the C++ N-API wrapper headers
//   app/dist, app/scripts              the built JavaScript (src, the check and benchmark scripts,
//                                      the parity tests) and the PyTorch benchmark script
//   app/node_modules                   exactly the files a traced run of the code loads, without
//                                      sharp (images are not decoded on the check)
//   gpu-check.sh, MANIFEST.json
// The node_modules set is traced, not guessed: a child process imports the bundle's entry points
// with a module hook that records every file loaded (ESM and CommonJS).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_BYTES = 64 * 2 ** 20;

function fail(msg) {
  process.stderr.write(`bundle:gpu: ${msg}\n`);
  process.exit(1);
}

const outArg = process.argv.indexOf('--out');
const outDir = path.resolve(outArg >= 0 ? process.argv[outArg + 1] : path.join(root, 'gpu-bundle'));

// The code the check runs (dist/, from `npm run build`).
const APP_FILES = ['dist/scripts/gpu-check.js', 'dist/scripts/bench-train.js', 'dist/test/backends/torch-parity.test.js',
  'dist/test/backends/torch-autograd-parity.test.js', 'dist/test/backends/torch-sgd.test.js'];
for (const f of APP_FILES) if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing: run npm run build first`);
// Entry points whose module graphs the bundle must hold (the test and scripts import only src/).
const TRACE_ENTRIES = ['dist/src/index.js', 'dist/src/backends/torch/index.js', 'dist/src/backends/wasm-training.js', 'dist/src/models/backbones/registry.js', 'dist/src/data/image-pipeline.js', 'dist/src/data/image-resample.js', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'];
const EXCLUDED_PACKAGES = [/^sharp$/, /^@img\//];

const nodeBin = process.execPath;
const nodeInclude = path.resolve(path.dirname(nodeBin), '..', 'include', 'node');
if (!fs.existsSync(path.join(nodeInclude, 'node_api.h'))) fail(`Node's headers not found at ${nodeInclude} (install them with Node, e.g. Debian's libnode-dev)`);

/** Every file under node_modules that importing the trace entries loads. */
function traceModules() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-bench-trace-'));
  const log = path.join(dir, 'loaded.txt');
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}
`);
  const runner = path.join(dir, 'trace.mjs');
  fs.writeFileSync(runner, `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const require = createRequire(${JSON.stringify(path.join(root, 'package.json'))});
for (const e of ${JSON.stringify(TRACE_ENTRIES)}) {
  await import(e.startsWith('dist/') ? pathToFileURL(${JSON.stringify(root)} + '/' + e).href : pathToFileURL(require.resolve(e)).href);
}
for (const f of Object.keys(require.cache)) appendFileSync(${JSON.stringify(log)}, pathToFileURL(f).href + '\\n');
`);
  const r = spawnSync(nodeBin, [runner], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail(`tracing the module graph failed (exit ${r.status})`);
  const files = new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((u) => fileURLToPath(u)));
  fs.rmSync(dir, { recursive: true, force: true });
  return [...files].filter((f) => f.startsWith(path.join(root, 'node_modules') + path.sep));
}

function packageOf(file) {
  const rel = path.relative(path.join(root, 'node_modules'), file).split(path.sep);
  return rel[0].startsWith('@') ? `${rel[0]}/${rel[1]}` : rel[0];
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

function copyTree(from, to, skip = () => false) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (skip(src)) continue;
    if (entry.isDirectory()) copyTree(src, path.join(to, entry.name), skip);
    else if (entry.isFile()) copy(src, path.join(to, entry.name));
  }
}

const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-bench-gpu-bundle-'));
const top = path.join(staging, 'lt-bench-gpu');
try {
  // Node.js
  copy(nodeBin, path.join(top, 'node', 'bin', 'node'));
  fs.chmodSync(path.join(top, 'node', 'bin', 'node'), 0o755);
  copyTree(nodeInclude, path.join(top, 'node', 'include', 'node'), (p) => p === path.join(nodeInclude, 'openssl'));
  // the addon's sources and node-addon-api's headers
  copyTree(path.join(root, 'native', 'torch', 'src'), path.join(top, 'addon', 'src'));
  const napi = path.join(root, 'node_modules', 'node-addon-api');
  for (const h of fs.readdirSync(napi).filter((f) => f.endsWith('.h'))) copy(path.join(napi, h), path.join(top, 'addon', 'node-addon-api', h));
  // the app: all of dist/src (no maps, no declarations), the check's scripts and test
  const app = path.join(top, 'app');
  copyTree(path.join(root, 'dist', 'src'), path.join(app, 'dist', 'src'), (p) => p.endsWith('.map') || p.endsWith('.d.ts'));
  for (const f of APP_FILES) copy(path.join(root, f), path.join(app, f));
  copy(path.join(root, 'scripts', 'bench-train.py'), path.join(app, 'scripts', 'bench-train.py'));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`);
  // node_modules: the traced files, every package.json of their packages (module types, exports)
  const loaded = traceModules();
  const packages = new Set();
  for (const f of loaded) {
    const p = packageOf(f);
    if (EXCLUDED_PACKAGES.some((re) => re.test(p))) fail(`the traced module graph loads ${p}, which the bundle leaves out`);
    packages.add(p);
    copy(f, path.join(app, path.relative(root, f)));
  }
  const wasmDist = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  // read with fs at run time, so the trace does not see them
  for (const w of fs.readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copy(path.join(wasmDist, w), path.join(app, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', w));
  for (const p of packages) {
    const dir = path.join(root, 'node_modules', p);
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory() && e.name !== 'node_modules') walk(full);
        else if (e.isFile() && e.name === 'package.json') copy(full, path.join(app, path.relative(root, full)));
      }
    };
    walk(dir);
  }
  copy(path.join(root, 'scripts', 'gpu-check.sh'), path.join(top, 'gpu-check.sh'));
  let commit = null;
  try { commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* not a checkout */ }
  fs.writeFileSync(path.join(top, 'MANIFEST.json'), `${JSON.stringify({
    name: pkg.name, version: pkg.version, commit, node: process.version, platform: `${process.platform}-${process.arch}`,
    created: new Date().toISOString(), packages: [...packages].sort(),
  }, null, 2)}\n`);

  fs.mkdirSync(outDir, { recursive: true });
  const archive = path.join(outDir, 'lt-bench-gpu.tar.gz');
  const partial = `${archive}.partial`;
  const t = spawnSync('tar', ['-czf', partial, '-C', staging, 'lt-bench-gpu'], { stdio: 'inherit' });
  if (t.status !== 0) fail(`tar failed (exit ${t.status})`);
  const size = fs.statSync(partial).size;
  if (size > MAX_BYTES) {
    fs.rmSync(partial);
    fail(`the archive is ${(size / 2 ** 20).toFixed(1)} MiB, over the 64 MiB limit`);
  }
  fs.renameSync(partial, archive);
  copy(path.join(root, 'scripts', 'gpu-check.sh'), path.join(outDir, 'gpu-check.sh'));
  fs.chmodSync(path.join(outDir, 'gpu-check.sh'), 0o755);
  process.stderr.write(`bundle:gpu: ${archive} (${(size / 2 ** 20).toFixed(1)} MiB, ${packages.size} packages) and ${path.join(outDir, 'gpu-check.sh')}\n`);
  process.stderr.write(`bundle:gpu: on the GPU machine: bash gpu-check.sh lt-bench-gpu.tar.gz [--python /path/to/python-with-torch]\n`);
} finally {
  fs.rmSync(staging, { recursive: true, force: true });
}
