/**
 * The method registry: recipe names → Method. `npm run new-method <name>` adds a method's import
 * and entry between the `new-method` markers (the order is the survey's table order; a new method
 * goes last). A test checks that every method file of this folder is registered.
 */
import type { Method } from './types.js';
// new-method: imports
import { softmaxMethod } from './softmax.js';
import { weightedSoftmaxMethod } from './weighted-softmax.js';
import { focalMethod } from './focal.js';
import { classBalancedMethod } from './class-balanced.js';
import { ldamDrwMethod } from './ldam-drw.js';
import { esqlMethod } from './esql.js';
import { balancedSoftmaxMethod } from './balanced-softmax.js';
import { ladeMethod } from './lade.js';
import { logitAdjustmentMethod } from './logit-adjustment.js';
import { unoIcMethod } from './uno-ic.js';
import { decoupleCrtMethod } from './decouple-crt.js';
import { decoupleLwsMethod } from './decouple-lws.js';
import { decoupleTauNormMethod } from './decouple-tau-norm.js';
import { decoupleNcmMethod } from './decouple-ncm.js';
import { deConfoundMethod } from './de-confound.js';
import { rideMethod } from './ride.js';
import { rideEaMethod } from './ride-ea.js';
import { sadeMethod } from './sade.js';
import { bbnMethod } from './bbn.js';
import { resltMethod } from './reslt.js';
import { pacoMethod } from './paco.js';
import { sspMethod } from './ssp.js';
import { oltrMethod } from './oltr.js';
import { rsgMethod } from './rsg.js';
import { lfmeMethod } from './lfme.js';
import { mislasMethod } from './mislas.js';
// new-method: end imports

const METHODS: Method[] = [
  // new-method: entries
  softmaxMethod,
  weightedSoftmaxMethod,
  focalMethod,
  classBalancedMethod,
  ldamDrwMethod,
  esqlMethod,
  balancedSoftmaxMethod,
  ladeMethod,
  logitAdjustmentMethod,
  unoIcMethod,
  decoupleCrtMethod,
  decoupleLwsMethod,
  decoupleTauNormMethod,
  decoupleNcmMethod,
  deConfoundMethod,
  rideMethod,
  rideEaMethod,
  sadeMethod,
  bbnMethod,
  resltMethod,
  pacoMethod,
  sspMethod,
  oltrMethod,
  rsgMethod,
  lfmeMethod,
  mislasMethod,
  // new-method: end entries
];

const BY_NAME = new Map(METHODS.map((m) => [m.name, m]));

/** All registered methods, in the survey's table order (baseline first). */
export function listMethods(): Method[] {
  return [...METHODS];
}

/** Registered method names. */
export function methodNames(): string[] {
  return METHODS.map((m) => m.name);
}

/** The method registered under `name`; throws listing the known names otherwise. */
export function getMethod(name: string): Method {
  const method = BY_NAME.get(name);
  if (!method) throw new Error(`Unknown method "${name}". Known methods: ${methodNames().join(', ')}`);
  return method;
}

/**
 * Registers a method for a test fixture (a toy method that is not shipped); returns a function
 * that removes it again. Throws when the name is taken.
 */
export function registerMethod(method: Method): () => void {
  if (BY_NAME.has(method.name)) throw new Error(`registerMethod: method "${method.name}" is already registered`);
  METHODS.push(method);
  BY_NAME.set(method.name, method);
  return () => {
    METHODS.splice(METHODS.indexOf(method), 1);
    BY_NAME.delete(method.name);
  };
}

/** The method a name or a table alias (e.g. `ldam`, which old records carry) refers to. */
export function findMethod(nameOrAlias: string): Method | undefined {
  return BY_NAME.get(nameOrAlias) ?? METHODS.find((m) => m.table?.aliases?.includes(nameOrAlias));
}

/** The registered name a recipe's `method.name` stands for: itself, or the method listing it in `recipeAliases` (`tade` → `sade`). */
export function resolveRecipeMethodName(name: string): string {
  if (BY_NAME.has(name)) return name;
  return METHODS.find((m) => m.recipeAliases?.includes(name))?.name ?? name;
}
