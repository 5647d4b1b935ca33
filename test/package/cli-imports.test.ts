/**
 * The CLI is a thin shell over the exported API: src/cli/* imports src/ only through
 * src/index.ts (or its own cli/ modules), so whatever the CLI can do, a program can do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';

/** Every module specifier in a TypeScript source: static imports/re-exports and import('…'). */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g)) specs.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  return specs;
}

const cliDir = path.join(packageRoot, 'src', 'cli');
const cliFiles = readdirSync(cliDir).filter((f) => f.endsWith('.ts'));

test('importSpecifiers finds static, type-only, multi-line, re-export and dynamic imports, not comments', () => {
  const src = `import a from 'x';\nimport type { B } from "../y.js";\nimport {\n  c,\n  d,\n} from '../runner.js';\nexport { e } from './z.js';\nimport 'side';\nconst f = await import('../sweep.js');\n// import g from '../no.js'\n/* import h from '../no2.js' */`;
  assert.deepEqual(importSpecifiers(src).sort(), ['../runner.js', '../sweep.js', '../y.js', './z.js', 'side', 'x']);
});

test('src/cli/* imports src/ only through ../index.js', () => {
  assert.ok(cliFiles.length >= 10);
  const bad: string[] = [];
  for (const f of cliFiles) {
    for (const s of importSpecifiers(readFileSync(path.join(cliDir, f), 'utf8'))) {
      if (s.startsWith('.') && s !== '../index.js' && !/^\.\/[\w.-]+\.js$/.test(s)) bad.push(`src/cli/${f}: '${s}'`);
    }
  }
  assert.deepEqual(bad, [], `the CLI must use the exported API (add the export to src/index.ts):\n${bad.join('\n')}`);
});

test('every package that src/ imports is a runtime dependency (an install from the tarball has no devDependencies)', () => {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
  const builtins = new Set(builtinModules);
  const missing = new Set<string>();
  const files = readdirSync(path.join(packageRoot, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of files) {
    for (const s of importSpecifiers(readFileSync(path.join(packageRoot, 'src', f), 'utf8'))) {
      if (s.startsWith('.') || s.startsWith('node:') || builtins.has(s)) continue;
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
      if (!runtime.has(name)) missing.add(`src/${f}: ${name}`);
    }
  }
  assert.deepEqual([...missing], []);
});
