/** The environment block of a run record: where and with which code a run was made. */
import os from 'node:os';
import type { BackendChoice } from '../backend.js';
import { gitCommit, ltBenchVersion, tfjsVersion } from '../version.js';
import type { RunRecord } from './types.js';

export function runEnvironment(backend: Pick<BackendChoice, 'name' | 'device' | 'threads'>): RunRecord['environment'] {
  return {
    backend: backend.name,
    device: backend.device,
    ...(backend.threads ? { threads: backend.threads } : {}),
    node: process.version,
    tfjs: tfjsVersion(),
    ltBench: ltBenchVersion(),
    gitCommit: gitCommit(),
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
  };
}
