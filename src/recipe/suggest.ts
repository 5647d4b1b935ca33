/**
 * "Did you mean": the known key closest to a misspelt one, by edit distance, and the keys a zod
 * schema knows at a key path (through optional/default/preprocess wrappers).
 */
import type { ZodTypeAny } from 'zod';

/** Levenshtein distance (insert, delete, substitute, each 1); adjacent swaps count 2. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case ignored), if close enough to be a typo: at most a third
 * of the word's length in edits (at least 1, at most 3). Ties go to the first candidate.
 */
export function closest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : null;
}

function unwrap(s: ZodTypeAny): ZodTypeAny[] {
  const def = s._def as { typeName?: string; innerType?: ZodTypeAny; schema?: ZodTypeAny; options?: ZodTypeAny[]; getter?: () => ZodTypeAny; type?: ZodTypeAny };
  switch (def.typeName) {
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault':
    case 'ZodCatch':
      return unwrap(def.innerType!);
    case 'ZodEffects':
      return unwrap(def.schema!);
    case 'ZodLazy':
      return unwrap(def.getter!());
    case 'ZodUnion':
    case 'ZodDiscriminatedUnion':
      return def.options!.flatMap(unwrap);
    default:
      return [s];
  }
}

/** The keys the object schema(s) at `keyPath` accept (empty when there is no object there). */
export function knownKeysAt(schema: ZodTypeAny, keyPath: ReadonlyArray<string | number>): string[] {
  let level = unwrap(schema);
  for (const k of keyPath) {
    const next: ZodTypeAny[] = [];
    for (const s of level) {
      const def = s._def as { typeName?: string; type?: ZodTypeAny; valueType?: ZodTypeAny };
      if (def.typeName === 'ZodObject') {
        const child = (s as unknown as { shape: Record<string, ZodTypeAny> }).shape[String(k)];
        if (child) next.push(...unwrap(child));
      } else if (def.typeName === 'ZodArray' && typeof k === 'number') next.push(...unwrap(def.type!));
      else if (def.typeName === 'ZodRecord') next.push(...unwrap(def.valueType!));
    }
    level = next;
  }
  return [...new Set(level.flatMap((s) => ((s._def as { typeName?: string }).typeName === 'ZodObject' ? Object.keys((s as unknown as { shape: object }).shape) : [])))];
}
