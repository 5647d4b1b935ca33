/**
 * Class-folder datasets: `root/<class>/<image>` (ImageNet's train/ and class-sorted val/, any
 * user dataset). Classes are the sorted folder names (ImageNet: sorted WordNet ids, label 0 =
 * n01440764), so labels agree with the official ImageNet-LT lists.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../../errors.js';
import type { ImageListEntry } from './image-list.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.bmp'];

export interface ClassFolderIndex {
  /** The folder scanned. */
  root: string;
  /** Class folder names, sorted (index = label). */
  classes: string[];
  /** Images, paths relative to `relativeTo` (default: root), sorted within each class. */
  entries: ImageListEntry[];
}

/**
 * Lists `root/<class>/<image>` files. `prefix` is prepended to every path (e.g. "train/" so the
 * paths match the official lists, relative to the ImageNet root). `classes` fixes the class list
 * (e.g. val/ must use train/'s); a folder not in it is an error.
 */
export async function scanClassFolder(
  root: string,
  opts: { prefix?: string; classes?: string[]; extensions?: string[] } = {},
): Promise<ClassFolderIndex> {
  const dirents = await readDir(root);
  const found = dirents.filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const classes = opts.classes ?? found;
  const labelOf = new Map(classes.map((c, i) => [c, i]));
  for (const c of found)
    if (!labelOf.has(c)) throw new DataError(`${path.join(root, c)}: class folder "${c}" is not among the ${classes.length} known classes`);
  if (found.length === 0) {
    const looseImages = dirents.some((d) => d.isFile() && isImage(d.name, opts.extensions));
    throw new DataError(
      `${root}: no class folders found (expected root/<class>/<image>)` +
        (looseImages ? '; the images lie directly in the folder (ImageNet val as extracted? sort it into class folders first)' : ''),
    );
  }
  const prefix = opts.prefix ?? '';
  const entries: ImageListEntry[] = [];
  for (const c of found) {
    const files = (await readDir(path.join(root, c)))
      .filter((d) => d.isFile() && isImage(d.name, opts.extensions))
      .map((d) => d.name)
      .sort();
    for (const f of files) entries.push({ path: `${prefix}${c}/${f}`, label: labelOf.get(c)!, line: 0 });
  }
  entries.sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  entries.forEach((e, i) => (e.line = i + 1));
  return { root, classes, entries };
}

/** A folder's entries; a missing or unreadable folder is one line naming it and what was expected. */
async function readDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new DataError(`${dir}: ${what} (expected a class-folder dataset: <root>/<class>/<image>, one folder of images per class)`, dir);
  }
}

function isImage(name: string, extensions = IMAGE_EXTENSIONS): boolean {
  const ext = path.extname(name).toLowerCase();
  return extensions.includes(ext);
}
