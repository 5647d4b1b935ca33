/** Maps recipe method names to methods; adding a method is one file plus a line here. */
import type { Method } from './types.js';
import { softmax } from './softmax.js';

const methods: Method[] = [softmax];
const byName = new Map(methods.map((m) => [m.name, m]));

export function getMethod(name: string): Method {
  const m = byName.get(name);
  if (!m) throw new Error(`unknown method '${name}'; known: ${[...byName.keys()].join(', ')}`);
  return m;
}

export function listMethods(): Method[] {
  return [...methods];
}
