#!/usr/bin/env node
// CommonJS (bin/package.json), on purpose: libuv reads UV_THREADPOOL_SIZE once, at the process's
// first asynchronous I/O, and an ES module entry point is itself read asynchronously, before any
// of its code runs. Here the pool, which runs every image decode of every decoding worker, is
// sized to the cores given before the program's modules load. A value the user set is kept.
const os = require('node:os');

if (!process.env.UV_THREADPOOL_SIZE) {
  const slurm = Number(process.env.SLURM_CPUS_PER_TASK);
  const cores = Number.isInteger(slurm) && slurm >= 1 ? slurm : os.availableParallelism();
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, cores)));
}
// libtensorflow (the tfjs-node backends) logs its CPU features at start-up; quiet unless asked.
// (tfjs's own "install tfjs-node" banner is silenced in src/backend.ts, for API users too.)
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
// `lt-bench recipes | head`: a closed pipe ends the output, not the process with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

import('../dist/src/cli/main.js').then(
  async ({ main }) => {
    process.exitCode = await main(process.argv);
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
