/**
 * Sweep files (`lt-bench sweep --file study.yaml`): a study written down, so that submitting it
 * again months later plans the same runs with the same resources. Strict like recipes: an unknown
 * or mistyped key is one line naming the file, the key path and what was expected (exit 2).
 *
 *   recipes: [table5/*-e90.yaml, …]   # files or globs, relative to the sweep file
 *   seeds: [0]                        # optional: each recipe's train.seed otherwise
 *   set: ["eval.batchSize=256"]       # optional: --set overrides for every recipe
 *   results: results                  # optional: relative to the sweep file
 *   backend: torch                    # optional: pinned into every task
 *   executor: { name: slurm, partition: gpu, time: "2-00:00:00", gpusPerTask: 1, … }
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z, type ZodIssue } from 'zod';
import { RecipeError, UsageError } from '../errors.js';

/** `[D-]HH:MM:SS`, `MM:SS`, `MM`, `D-HH`… as sbatch's --time takes them. */
const SLURM_TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/;

export const executorSchema = z
  .object({
    name: z.enum(['local', 'slurm']).default('slurm'),
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    qos: z.string().min(1).optional(),
    time: z.string().regex(SLURM_TIME, 'expected a Slurm time limit such as "2-00:00:00", "12:00:00" or "90" (minutes)').optional(),
    gpusPerTask: z.number().int().nonnegative().optional(),
    cpusPerTask: z.number().int().positive().optional(),
    mem: z.string().regex(/^\d+[KMGT]?$/, 'expected a Slurm memory size such as "64G" or "8000M"').optional(),
    constraint: z.string().min(1).optional(),
    /** Each array's %N throttle: at most this many of its tasks run at once. */
    maxParallel: z.number().int().positive().optional(),
    /** Times a task stopped by its time limit requeues itself. */
    requeueLimit: z.number().int().nonnegative().optional(),
    /** Seconds before the time limit that Slurm sends the warning signal (SIGUSR2). */
    signalSeconds: z.number().int().positive().optional(),
    /** Further sbatch arguments, verbatim (e.g. "--exclusive", "--mail-type=FAIL"). */
    sbatchArgs: z.array(z.string().regex(/^--?[A-Za-z]/, 'expected an sbatch option such as "--exclusive"')).optional(),
  })
  .strict();

export type ExecutorSpec = z.infer<typeof executorSchema>;

export const sweepFileSchema = z
  .object({
    recipes: z.array(z.string().min(1)).min(1),
    seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
    set: z.array(z.string().regex(/^[A-Za-z][\w.]*=/, 'expected key.path=value')).optional(),
    results: z.string().min(1).optional(),
    dataRoot: z.string().min(1).optional(),
    backend: z.string().min(1).optional(),
    executor: executorSchema.optional(),
  })
  .strict();

export interface SweepFile {
  file: string;
  /** Recipe files and globs, made absolute against the sweep file's directory. */
  recipes: string[];
  seeds?: number[];
  set: string[];
  results?: string;
  dataRoot?: string;
  backend?: string;
  executor?: ExecutorSpec;
}

/**
 * True for a sweep file (a top-level `recipes:` list), which recipe globs and the recipe catalog
 * skip: `recipes/imagenet-lt/study.yaml` sits among the recipes it names.
 */
export function isSweepFile(file: string): boolean {
  try {
    return /^recipes:/m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function describe(issue: ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_type':
      return issue.received === 'undefined' ? `required, expected ${issue.expected}` : `expected ${issue.expected}, got ${issue.received}`;
    case 'invalid_enum_value':
      return `expected one of ${issue.options.map((o) => `'${String(o)}'`).join(', ')}, got '${String(issue.received)}'`;
    case 'too_small':
      return issue.type === 'array' ? `expected at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}` : issue.type === 'number' ? `expected a number ≥ ${String(issue.minimum)}${issue.inclusive ? '' : ' (exclusive)'}` : issue.message;
    default:
      return issue.message;
  }
}

/** Validates a parsed sweep file; `file` names it in errors. */
export function validateSweepFile(raw: unknown, file: string): SweepFile {
  const parsed = sweepFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(top level)'}: ${describe(i)}`);
    throw new RecipeError(lines.join('\n'), file, parsed.error.issues[0]?.path.join('.'));
  }
  const d = parsed.data;
  const here = path.dirname(path.resolve(file));
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(here, p));
  return {
    file,
    recipes: d.recipes.map(abs),
    ...(d.seeds ? { seeds: d.seeds } : {}),
    set: d.set ?? [],
    ...(d.results ? { results: abs(d.results) } : {}),
    ...(d.dataRoot ? { dataRoot: abs(d.dataRoot) } : {}),
    ...(d.backend ? { backend: d.backend } : {}),
    ...(d.executor ? { executor: d.executor } : {}),
  };
}

export function loadSweepFile(file: string): SweepFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: sweep file not found`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new RecipeError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, file);
  }
  return validateSweepFile(raw ?? {}, file);
}
