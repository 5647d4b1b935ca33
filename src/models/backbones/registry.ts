/** Maps recipe backbone names to implementations; adding a backbone is one file plus a line here. */
import type { BackboneSpec } from './types.js';
import { cifarResNets } from './resnet-cifar.js';
import { imageNetResNets } from './resnet-imagenet.js';

const registry = new Map<string, BackboneSpec>();
for (const s of [...cifarResNets, ...imageNetResNets]) registry.set(s.name, s);

export function registerBackbone(spec: BackboneSpec): void {
  registry.set(spec.name, spec);
}

export function getBackbone(name: string): BackboneSpec {
  const s = registry.get(name);
  if (!s) throw new Error(`unknown backbone '${name}'; known: ${listBackbones().join(', ')}`);
  return s;
}

export function listBackbones(): string[] {
  return [...registry.keys()];
}

export function listBackboneSpecs(): BackboneSpec[] {
  return [...registry.values()];
}
