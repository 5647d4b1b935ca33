#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// tfjs prints a banner suggesting tfjs-node; lt-bench chooses and reports its backend itself.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const code = await main(process.argv);
process.exitCode = code;
