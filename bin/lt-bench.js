#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// libtensorflow (the tfjs-node backends) logs its CPU features at start-up; quiet unless asked.
// (tfjs's own "install tfjs-node" banner is silenced in src/backend.ts, for API users too.)
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
// `lt-bench recipes | head`: a closed pipe ends the output, not the process with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const code = await main(process.argv);
process.exitCode = code;
