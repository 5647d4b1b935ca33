/**
 * The method registry: recipe names → Method. Add a method by importing its file here.
 */
import type { Method } from './types.js';
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

const METHODS: readonly Method[] = [
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
