#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// tfjs prints a banner suggesting tfjs-node; lt-bench chooses and reports its backend itself.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
// `lt-bench recipes | head`: a closed pipe ends the output, not the process with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const code = await main(process.argv);
process.exitCode = code;
