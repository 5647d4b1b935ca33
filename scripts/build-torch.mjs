#!/usr/bin/env node
// Builds the libtorch addon of the `torch` backend (native/torch → native/torch/build/Release/lt_torch.node).
// Run explicitly with `npm run build:torch`; `npm ci` never builds it (no binding.gyp at the root).
//
// libtorch location, in order:
//   LIBTORCH=/path        a libtorch distribution or the `torch` directory of a PyTorch install
//                         (include/ and lib/ inside; CUDA builds work the same way)
//   otherwise             Debian/Ubuntu `libtorch-dev` (headers in /usr/include/torch, libs in
//                         /usr/lib/<multiarch>)
// The C++11 ABI flag is read from the library (pip wheels of PyTorch 1.x/2.x before 2.7 use the
// old ABI; Debian uses the new one); override with TORCH_CXX11_ABI=0|1.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = path.join(root, 'native', 'torch');

function fail(msg) {
  process.stderr.write(`build:torch: ${msg}\n`);
  process.exit(1);
}

function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const lib = path.join(env, 'lib');
    if (!fs.existsSync(path.join(lib, 'libtorch.so'))) fail(`LIBTORCH=${env}: ${lib}/libtorch.so not found`);
    const extra = ['torch_cuda', 'c10_cuda'].filter((l) => fs.existsSync(path.join(lib, `lib${l}.so`)));
    return {
      include: path.join(env, 'include'),
      apiInclude: path.join(env, 'include', 'torch', 'csrc', 'api', 'include'),
      lib,
      // CUDA builds: force the CUDA libraries to load so at::hasCUDA() sees them
      extraLibs: extra.map((l) => `-Wl,--no-as-needed,-l${l},--as-needed`),
    };
  }
  let multiarch = 'x86_64-linux-gnu';
  try { multiarch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim() || multiarch; } catch { /* keep default */ }
  const lib = `/usr/lib/${multiarch}`;
  if (!fs.existsSync('/usr/include/torch') || !fs.existsSync(path.join(lib, 'libtorch.so'))) {
    fail('libtorch not found: install Debian/Ubuntu `libtorch-dev` (apt-get install libtorch-dev) or set LIBTORCH=/path/to/libtorch');
  }
  return { include: '/usr/include', apiInclude: '/usr/include/torch/csrc/api/include', lib, extraLibs: [] };
}

function cxx11Abi(lib) {
  if (process.env.TORCH_CXX11_ABI === '0' || process.env.TORCH_CXX11_ABI === '1') return process.env.TORCH_CXX11_ABI;
  // A libtorch distribution or pip PyTorch states it in its CMake config
  try {
    const m = fs.readFileSync(path.join(lib, '..', 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
    if (m) return m[1];
  } catch { /* Debian's libtorch-dev has none here */ }
  // libc10 exports std::string-taking symbols; with the new ABI they mention __cxx11
  const c10 = path.join(lib, 'libc10.so');
  try {
    const bytes = fs.readFileSync(c10);
    return bytes.includes(Buffer.from('__cxx11')) ? '1' : '0';
  } catch {
    return '1';
  }
}

function nodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of candidates) if (fs.existsSync(c)) return c;
  fail('node-gyp not found (it ships with npm); install it with `npm install -g node-gyp`');
}

/** PyTorch's headers require C++20 from 2.12 on (`#error` in ATen/ATen.h); C++17 before. */
function cxxStandard(apiInclude) {
  try {
    const h = fs.readFileSync(path.join(apiInclude, 'torch', 'version.h'), 'utf8');
    const major = Number(h.match(/#define TORCH_VERSION_MAJOR (\d+)/)?.[1]);
    const minor = Number(h.match(/#define TORCH_VERSION_MINOR (\d+)/)?.[1]);
    return major > 2 || (major === 2 && minor >= 12) ? 'c++20' : 'c++17';
  } catch {
    return 'c++17';
  }
}

const t = findLibtorch();
const abi = cxx11Abi(t.lib);
const cxxStd = cxxStandard(t.apiInclude);
// configure + build (incremental); `npm run build:torch -- --clean` for a full rebuild
const gyp = nodeGyp();
if (process.argv.includes('--clean')) spawnSync(process.execPath, [gyp, 'clean', `--directory=${addonDir}`], { stdio: 'inherit', cwd: addonDir });
const args = [gyp, 'configure', `--directory=${addonDir}`];
// Use the local Node headers when present (no download needed)
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
args.push('--', `-Dtorch_include=${t.include}`, `-Dtorch_api_include=${t.apiInclude}`, `-Dtorch_lib=${t.lib}`,
  `-Dtorch_cxx11_abi=${abi}`, `-Dtorch_extra_libs=${t.extraLibs.join(' ')}`, `-Dtorch_cxx_std=${cxxStd}`);
process.stderr.write(`build:torch: libtorch ${t.lib} (C++11 ABI ${abi}, ${cxxStd})\n`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: addonDir });
if (r.status !== 0) fail(`node-gyp configure failed (exit ${r.status})`);
const r2 = spawnSync(process.execPath, [gyp, 'build', `--directory=${addonDir}`, `--jobs=${process.env.JOBS ?? '2'}`], { stdio: 'inherit', cwd: addonDir });
if (r2.status !== 0) fail(`node-gyp build failed (exit ${r2.status})`);
process.stderr.write(`build:torch: built ${path.join(addonDir, 'build', 'Release', 'lt_torch.node')}\n`);
