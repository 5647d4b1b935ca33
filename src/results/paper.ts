/**
 * The paper's reported numbers (`survey-tables.json`, transcribed from the survey's Tables 5–7,
 * ImageNet-LT, ResNeXt-50) and lookups by lt-bench row. Only the shapes tables read are typed.
 */
import { readFile } from 'node:fs/promises';

export interface PaperTables {
  table5: Record<string, Record<string, unknown>>;
  table6: Record<string, Record<string, unknown>>;
  table7: Record<string, unknown>;
}

/** Loads survey-tables.json (lt-bench ships it as `results/reference/survey-tables.json`). */
export async function loadPaperTables(path: string): Promise<PaperTables> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<PaperTables>;
  if (!parsed.table5 || !parsed.table6 || !parsed.table7) {
    throw new Error(`${path}: expected the keys table5, table6 and table7 (the survey-tables.json layout)`);
  }
  return parsed as PaperTables;
}

function numberAt(obj: unknown, ...path: string[]): number | null {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return null;
    cur = (cur as Record<string, unknown>)[key];
  }
  return typeof cur === 'number' ? cur : null;
}

/** Table 5 value: metric 'acc' | 'ua' | 'ra' of a paper row at an epoch budget. */
export function paperTable5(paper: PaperTables, row: string, epochs: number, metric: 'acc' | 'ua' | 'ra'): number | null {
  return numberAt(paper.table5, row, String(epochs), metric);
}

/** Table 6 value: 'head' | 'middle' | 'tail'. */
export function paperTable6(paper: PaperTables, row: string, epochs: number, group: 'head' | 'middle' | 'tail'): number | null {
  return numberAt(paper.table6, row, String(epochs), group);
}

/** Table 7 value (200 epochs only in the paper): subset 'all' | 'head' | 'middle' | 'tail' × classifier. */
export function paperTable7(paper: PaperTables, loss: string, epochs: number, subset: string, classifier: string): number | null {
  if (epochs !== 200) return null;
  return numberAt(paper.table7, loss, subset, classifier);
}
