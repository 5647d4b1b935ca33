/**
 * One spelling of the shared CLI options (src/cli/options.ts): every command that reads or writes
 * run records takes `--results <dir>`, every command that reads dataset files takes
 * `--data-root <dir>`; the old names (`--output`, `--root`) still work, hidden from --help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { packageRoot } from '../../src/version.js';
import { tempDir } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leaves(c: Command, names: string[] = []): Array<[string, Command]> {
  return c.commands.flatMap((s) => (s.commands.length ? leaves(s, [...names, s.name()]) : [[[...names, s.name()].join(' '), s] as [string, Command]]));
}

const commands = new Map(leaves(buildProgram()));
const visible = (c: Command) => c.options.filter((o) => !o.hidden).map((o) => o.long);

test('every command that reads or writes run records takes --results, every one that reads dataset files --data-root', () => {
  const results = ['run', 'sweep', 'table', 'plot', 'check', ...[...commands.keys()].filter((n) => n.startsWith('runs '))];
  const dataRoot = ['run', 'sweep', 'eval', 'data stats', 'data verify', 'data make'];
  for (const n of [...results, ...dataRoot]) assert.ok(commands.has(n), `no command ${n}`);
  for (const n of results) assert.ok(visible(commands.get(n)!).includes('--results'), `${n} has no --results`);
  for (const n of dataRoot) assert.ok(visible(commands.get(n)!).includes('--data-root'), `${n} has no --data-root`);
  // No command shows another spelling of the same thing.
  for (const [n, c] of commands) {
    const others = visible(c).filter((l) => ['--output', '--root', '--results-dir', '--data', '--data-dir'].includes(l ?? ''));
    assert.deepEqual(others, [], `${n} shows ${others.join(', ')}`);
  }
});

test('--results is accepted (and read) by table, plot, check, runs ls and runs gc', () => {
  const empty = tempDir();
  const out = tempDir();
  assert.deepEqual(JSON.parse(cli(['runs', 'ls', '--json', '--results', empty]).stdout), []);
  const gc = cli(['runs', 'gc', '--dry-run', '--results', empty]);
  assert.equal(gc.code, 0, gc.stderr);
  const table = cli(['table', '--results', empty, '--expected']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /Table 5/, 'the empty cells the recipes expect');
  const plot = cli(['plot', '--results', empty, '--out', out]);
  assert.equal(plot.code, 0, plot.stderr);
  assert.match(plot.stderr, /no figures/);
  const check = cli(['check', '--results', empty, '--baseline', path.join(packageRoot, 'results', 'reference', 'ci-baseline.yaml'), '--json']);
  assert.ok(!/unknown option/.test(check.stderr), check.stderr);
  assert.equal(JSON.parse(check.stdout).ok, false, 'an empty results directory misses every baseline run');
});

test('the old names are aliases: --output for --results, --root for --data-root; both with different values is exit 2', () => {
  const dir = tempDir();
  const recipe = path.join(packageRoot, 'recipes', 'quickstart.yaml');
  const both = cli(['run', recipe, '--output', path.join(dir, 'a'), '--results', path.join(dir, 'b')]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--output is the old name of --results/);
  const same = cli(['sweep', recipe, '--dry-run', '--json', '--output', dir, '--results', dir]);
  assert.equal(same.code, 0, same.stderr);
  const viaAlias = cli(['sweep', recipe, '--dry-run', '--json', '--output', dir]);
  const viaName = cli(['sweep', recipe, '--dry-run', '--json', '--results', dir]);
  assert.equal(viaAlias.code, 0, viaAlias.stderr);
  assert.equal(viaAlias.stdout, viaName.stdout);
  const make = cli(['data', 'make', 'class-folder', '--out', dir]);
  assert.equal(make.code, 2);
  assert.match(make.stderr, /data make class-folder: --data-root DIR is required/);
  const makeAlias = cli(['data', 'make', 'class-folder', '--root', path.join(dir, 'nowhere'), '--out', dir]);
  assert.ok(!/required option|unknown option/.test(makeAlias.stderr), makeAlias.stderr);
});
