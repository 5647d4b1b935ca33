/**
 * Loading a recipe: YAML → `extends:` chain merged (objects merge, arrays and scalars replace) →
 * `--set a.b=c` overrides → strict schema with defaults → the method's own params schema.
 * Every error names the file that set the offending key and the key path.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import type { ZodIssue, ZodTypeAny } from 'zod';
import { closest, knownKeysAt } from './suggest.js';
import { RecipeError } from '../errors.js';
import { describeFsCode } from '../paths.js';
import { isImageListDataset, recipeSchema, type Recipe } from './schema.js';
import { loadManifest } from '../data/manifests.js';
import { getMethod, listMethods, resolveRecipeMethodName } from '../methods/registry.js';
import { listBackbones } from '../models/backbones/registry.js';

type Plain = Record<string, unknown>;

export interface LoadedRecipe {
  recipe: Recipe;
  /** Absolute path of the leaf recipe file, or null for an in-memory recipe. */
  file: string | null;
  /** The files of the extends chain, base first. */
  chain: string[];
}

export interface LoadOptions {
  /** `a.b=c` overrides; values are parsed as YAML scalars/flow collections. */
  sets?: string[];
  /** Root that recipe names are relative to (for the default name). */
  recipesRoot?: string;
}

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `over` into `base`, recording which file set each leaf key path. */
function mergeInto(base: Plain, over: Plain, file: string, origin: Map<string, string>, prefix = ''): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const keyPath = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && isPlainObject(out[k])) {
      out[k] = mergeInto(out[k] as Plain, v, file, origin, keyPath);
    } else {
      out[k] = v;
      origin.set(keyPath, file);
    }
  }
  return out;
}

function readYamlFile(file: string): Plain {
  if (!existsSync(file)) throw new RecipeError(`${file}: recipe file not found`, file);
  if (statSync(file).isDirectory()) throw new RecipeError(`${file}: is a directory, not a recipe file (give its files, or a quoted glob such as '${file}/*.yaml')`, file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RecipeError(`${file}: cannot read the recipe: ${describeFsCode((e as NodeJS.ErrnoException).code)}`, file);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new RecipeError(`${file}${where}: invalid YAML: ${e.message.split('\n')[0]}`, file);
  }
  const value = doc.toJS() ?? {};
  if (!isPlainObject(value)) throw new RecipeError(`${file}: expected a mapping at the top level`, file);
  return value;
}

function loadChain(file: string, origin: Map<string, string>, seen: string[]): { merged: Plain; chain: string[] } {
  const abs = path.resolve(file);
  if (seen.includes(abs)) {
    throw new RecipeError(`${abs}: 'extends' cycle: ${[...seen, abs].join(' → ')}`, abs, 'extends');
  }
  const own = readYamlFile(abs);
  const ext = own.extends;
  delete own.extends;
  let merged: Plain = {};
  const chain: string[] = [];
  if (ext !== undefined) {
    const bases = typeof ext === 'string' ? [ext] : ext;
    if (!Array.isArray(bases) || bases.some((b) => typeof b !== 'string')) {
      throw new RecipeError(`${abs}: extends: expected a path or a list of paths`, abs, 'extends');
    }
    for (const b of bases as string[]) {
      const sub = loadChain(path.resolve(path.dirname(abs), b), origin, [...seen, abs]);
      merged = mergeInto(merged, sub.merged, '', new Map());
      chain.push(...sub.chain);
    }
  }
  merged = mergeInto(merged, own, abs, origin);
  chain.push(abs);
  return { merged, chain };
}

/** Applies `a.b.c=value` overrides. */
export function applySets(obj: Plain, sets: string[], origin: Map<string, string>): Plain {
  let out = obj;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new RecipeError(`--set ${s}: expected key.path=value`, undefined, s);
    const keyPath = s.slice(0, eq).trim();
    const value = parseYaml(s.slice(eq + 1));
    const keys = keyPath.split('.');
    const patch: Plain = {};
    let cur = patch;
    keys.forEach((k, i) => {
      if (i === keys.length - 1) cur[k] = value;
      else cur = (cur[k] = {}) as Plain;
    });
    out = mergeInto(out, patch, '--set', origin);
  }
  return out;
}

function describeIssue(issue: ZodIssue, schema: ZodTypeAny): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, issue.path);
      const hints = issue.keys.map((k) => closest(k, known)).map((c, i) => (c ? `'${issue.keys[i]}' (did you mean '${c}'?)` : `'${issue.keys[i]}'`));
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${hints.join(', ')}${known.length > 0 && hints.every((h) => !h.includes('did you mean')) ? `; known: ${known.join(', ')}` : ''}`;
    }
    case 'invalid_type':
      return issue.received === 'undefined' ? `required, expected ${issue.expected}` : `expected ${issue.expected}, got ${issue.received}`;
    case 'invalid_enum_value':
      return `expected one of ${issue.options.map((o) => `'${String(o)}'`).join(', ')}, got '${String(issue.received)}'`;
    default:
      return issue.message;
  }
}

function didYouMean(word: string, known: string[]): string {
  const c = closest(word, known);
  return c ? ` (did you mean '${c}'?)` : '';
}

function originOf(keyPath: string, origin: Map<string, string>, leaf: string): string {
  for (let p = keyPath; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const f = origin.get(p);
    if (f) return f;
  }
  return leaf;
}

function formatIssues(issues: ZodIssue[], schema: ZodTypeAny, origin: Map<string, string>, leaf: string, prefix: string[] = []): RecipeError {
  const lines = issues.map((i) => {
    const keyPath = [...prefix, ...i.path].join('.') || '(top level)';
    // An unknown key was set by whichever file (or --set) wrote it, not by its parent's file.
    const originPath = i.code === 'unrecognized_keys' ? [...prefix, ...i.path, i.keys[0]].join('.') : keyPath;
    return `${originOf(originPath, origin, leaf)}: ${keyPath}: ${describeIssue(i, schema)}`;
  });
  const first = issues[0];
  return new RecipeError(lines.join('\n'), leaf, [...prefix, ...(first?.path ?? [])].join('.'));
}

/** Validates a merged plain object into a Recipe, including the method's params. */
export function validateRecipe(raw: Plain, leaf = '(recipe)', origin = new Map<string, string>()): Recipe {
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) throw formatIssues(parsed.error.issues, recipeSchema, origin, leaf);
  const recipe = parsed.data;

  const backbones = listBackbones();
  if (!backbones.includes(recipe.backbone.name)) {
    throw new RecipeError(
      `${originOf('backbone.name', origin, leaf)}: backbone.name: unknown backbone '${recipe.backbone.name}'${didYouMean(recipe.backbone.name, backbones)}; known: ${backbones.join(', ')}`,
      leaf,
      'backbone.name',
    );
  }
  let method;
  try {
    // An alias (`tade`) becomes the method's name here, before any hash is taken, so both share run ids.
    recipe.method.name = resolveRecipeMethodName(recipe.method.name);
    method = getMethod(recipe.method.name);
  } catch {
    throw new RecipeError(
      `${originOf('method.name', origin, leaf)}: method.name: unknown method '${recipe.method.name}'${didYouMean(recipe.method.name, listMethods().map((m) => m.name))}; known: ${listMethods()
        .map((m) => m.name)
        .join(', ')}`,
      leaf,
      'method.name',
    );
  }
  const params = method.params.safeParse(recipe.method.params);
  if (!params.success) throw formatIssues(params.error.issues, method.params, origin, leaf, ['method', 'params']);
  recipe.method.params = params.data;
  const issue = method.checkRecipe?.(recipe);
  if (issue) throw new RecipeError(`${originOf(issue.key, origin, leaf)}: ${issue.key}: ${issue.message}`, leaf, issue.key);
  checkDataset(recipe, (keyPath) => originOf(keyPath, origin, leaf), leaf);
  checkAccumulate(recipe, (keyPath) => originOf(keyPath, origin, leaf), leaf);
  if (isImageListDataset(recipe.dataset.name)) return recipe;
  if (recipe.dataset.valSource === 'test' && recipe.dataset.valPerClass > 0) {
    throw new RecipeError(`${originOf('dataset.valPerClass', origin, leaf)}: dataset.valPerClass: must be 0 with valSource 'test' (no images are held out when the test set validates)`, leaf, 'dataset.valPerClass');
  }
  if (recipe.dataset.balanced && recipe.dataset.profile === 'none') {
    throw new RecipeError(`${originOf('dataset.balanced', origin, leaf)}: dataset.balanced: needs profile 'exponential' (profile 'none' is already balanced)`, leaf, 'dataset.balanced');
  }
  return recipe;
}

const LIST_ONLY_KEYS = ['numClasses', 'lists', 'transform', 'workers', 'prefetch', 'badImages'] as const;

/** Image-list datasets: the lists are the split; the other datasets take none of the list keys. */
function checkDataset(recipe: Recipe, from: (keyPath: string) => string, leaf: string): void {
  const ds = recipe.dataset;
  const fail = (key: string, msg: string) => new RecipeError(`${from(`dataset.${key}`)}: dataset.${key}: ${msg}`, leaf, `dataset.${key}`);
  if (!isImageListDataset(ds.name)) {
    for (const k of LIST_ONLY_KEYS) if (ds[k] !== undefined) throw fail(k, `only for the image-list datasets (imagenet-lt, places-lt, inat2018, image-list), not ${ds.name}`);
    return;
  }
  if (ds.profile !== 'none') throw fail('profile', `${ds.name} is split by its lists (dataset.lists); remove the profile or set it to 'none'`);
  if (ds.maxPerClass !== null) throw fail('maxPerClass', `${ds.name} is split by its lists (dataset.lists); remove maxPerClass`);
  if (ds.name === 'image-list') {
    if (ds.numClasses === undefined) throw fail('numClasses', 'required for image-list (the number of classes the labels index)');
    if (!ds.lists?.train || !ds.lists.test) throw fail(ds.lists?.train ? 'lists.test' : 'lists.train', 'required for image-list (no official file names to default to)');
    if (!ds.lists.val && ds.valSource !== 'test') throw fail('lists.val', "required for image-list unless valSource is 'test' (validate on the test list)");
  } else {
    const m = loadManifest(ds.name);
    if (ds.numClasses !== undefined && ds.numClasses !== m.numClasses) throw fail('numClasses', `${ds.name} has ${m.numClasses} classes; remove numClasses`);
  }
  if ((ds.balanced || recipe.reference === 'auto') && !ds.lists?.balancedTrain && ds.name !== 'imagenet-lt') {
    throw fail('lists.balancedTrain', `${ds.balanced ? 'dataset.balanced' : "reference: auto"} needs the balanced twin of the train list`);
  }
}

function checkAccumulate(recipe: Recipe, from: (keyPath: string) => string, leaf: string): void {
  const k = recipe.train.accumulate ?? 1;
  const sizes: Array<[string, number | undefined]> = [['train.batchSize', recipe.train.batchSize], ['stage2.batchSize', recipe.stage2?.batchSize]];
  for (const [key, size] of sizes) {
    if (size !== undefined && size % k !== 0) {
      throw new RecipeError(`${from('train.accumulate')}: train.accumulate: ${k} does not divide ${key} ${size} (micro-batches are ${key}/accumulate images)`, leaf, 'train.accumulate');
    }
  }
}

/**
 * Image-list datasets: a relative root or list path is relative to the recipe file that set it
 * (`--set` values: to the working directory), so a recipe and its lists can move together.
 */
function resolveDataPaths(recipe: Recipe, from: (keyPath: string) => string): void {
  const ds = recipe.dataset;
  if (!isImageListDataset(ds.name)) return;
  const base = (keyPath: string) => {
    const f = from(keyPath);
    return f === '--set' || f === '' || !path.isAbsolute(f) ? process.cwd() : path.dirname(f);
  };
  if (ds.root) ds.root = path.resolve(base('dataset.root'), ds.root);
  if (ds.lists) {
    for (const k of ['train', 'val', 'test', 'balancedTrain'] as const) {
      const v = ds.lists[k];
      if (v) ds.lists[k] = path.resolve(base(`dataset.lists.${k}`), v);
    }
  }
}

function defaultName(file: string, recipesRoot?: string): string {
  const root = recipesRoot ?? findRecipesRoot(file);
  const rel = root ? path.relative(root, file) : path.basename(file);
  return rel.replace(/\.ya?ml$/, '').split(path.sep).join('/');
}

function findRecipesRoot(file: string): string | null {
  let dir = path.dirname(file);
  while (dir !== path.dirname(dir)) {
    if (path.basename(dir) === 'recipes') return dir;
    dir = path.dirname(dir);
  }
  return null;
}

/** Loads, merges, overrides and validates a recipe file. */
export function loadRecipe(file: string, opts: LoadOptions = {}): LoadedRecipe {
  const origin = new Map<string, string>();
  const { merged, chain } = loadChain(file, origin, []);
  const withSets = applySets(merged, opts.sets ?? [], origin);
  const abs = path.resolve(file);
  const recipe = validateRecipe(withSets, abs, origin);
  resolveDataPaths(recipe, (keyPath) => originOf(keyPath, origin, abs));
  if (!recipe.name) recipe.name = defaultName(abs, opts.recipesRoot);
  return { recipe, file: abs, chain };
}
