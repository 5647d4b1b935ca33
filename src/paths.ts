/**
 * Paths checked before anything is created or read: an output directory must be a directory or
 * creatable, writable, and not under a pseudo-filesystem (Node's `mkdirSync(p, {recursive: true})`
 * never returns on a /proc path, so this is decided lexically and on the realpath, before any
 * mkdir); a data root must be an existing directory. Also the one place that turns a raw
 * filesystem error into a one-line LtBenchError with the documented exit code.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError, LtBenchError, UsageError } from './errors.js';

const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev'];

function pseudoRoot(abs: string): string | null {
  return PSEUDO_FILESYSTEMS.find((p) => abs === p || abs.startsWith(`${p}/`)) ?? null;
}

/** What a filesystem error code means, in words. */
export function describeFsCode(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only filesystem';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EEXIST':
      return 'already exists';
    default:
      return code ?? 'filesystem error';
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Why `abs` cannot hold output files, or null: `self` names it in the message when it is not `abs` itself. */
function outputDirProblem(abs: string, self: string | null): string | null {
  const pseudo = pseudoRoot(abs);
  if (pseudo) return `under ${pseudo}, a pseudo-filesystem; choose a directory on a disk`;
  let existing = abs;
  let st = statOrNull(existing);
  while (!st) {
    const parent = path.dirname(existing);
    if (parent === existing) return 'no existing parent directory';
    existing = parent;
    st = statOrNull(existing);
  }
  const named = existing === abs && self === null ? '' : `${existing} `;
  const real = realpathSync(existing);
  const realPseudo = pseudoRoot(real);
  if (realPseudo) return `${existing} resolves to ${real}, under ${realPseudo}, a pseudo-filesystem; choose a directory on a disk`;
  if (!st.isDirectory()) return `${named}is a file, not a directory`;
  try {
    // access(2) reports EROFS on a read-only mount even for root, who ignores file modes.
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (e) {
    return `${named ? `${existing}: ` : ''}not writable (${describeFsCode((e as NodeJS.ErrnoException).code)})`;
  }
  return null;
}

/**
 * Checks that `dir` can hold results: an existing writable directory, or creatable below its
 * nearest existing ancestor. Throws a UsageError (exit 2) naming `dir`; returns the absolute path.
 * `what` names the option in the message (e.g. '--output').
 */
export function checkOutputDir(dir: string, what = 'output directory'): string {
  const abs = path.resolve(dir);
  const why = outputDirProblem(abs, null);
  if (why) throw new UsageError(`${what} ${dir}: ${why}`);
  return abs;
}

/** Checks that `file` can be written (created or replaced): not a directory, its directory usable as by checkOutputDir. */
export function checkOutputFile(file: string, what = 'output file'): string {
  const abs = path.resolve(file);
  if (statOrNull(abs)?.isDirectory()) throw new UsageError(`${what} ${file}: is a directory, not a file`);
  const why = outputDirProblem(path.dirname(abs), abs);
  if (why) throw new UsageError(`${what} ${file}: ${why}`);
  return abs;
}

/** Checks that a dataset directory (--data-root, --root) exists and is a directory: a DataError (exit 3) otherwise. */
export function checkDataDir(dir: string, what = 'data root'): string {
  const abs = path.resolve(dir);
  const st = statOrNull(abs);
  if (!st) throw new DataError(`${what} ${dir}: no such directory`, abs);
  if (!st.isDirectory()) throw new DataError(`${what} ${dir}: is a file, not a directory`, abs);
  return abs;
}

const FS_CODES = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EEXIST', 'EMFILE', 'ENAMETOOLONG', 'ELOOP']);
/** System calls that create or change files: a failure there is about the output (exit 2). */
const WRITE_SYSCALLS = new Set(['mkdir', 'rename', 'write', 'unlink', 'rmdir', 'rm', 'copyfile', 'symlink', 'link', 'fsync', 'ftruncate', 'utime', 'chmod', 'mkdtemp']);

/**
 * A raw Node filesystem error (with `code`, `syscall`, `path`) as an LtBenchError: one line naming
 * the path, exit 2 when writing (output), 3 when reading (input data). Null for anything else.
 * Opening for writing reports syscall 'open' too, so EROFS/ENOSPC/EDQUOT count as writes whatever
 * the call.
 */
export function fromFsError(e: unknown): LtBenchError | null {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (!(err instanceof Error) || !err.code || !FS_CODES.has(err.code) || !err.syscall) return null;
  const where = err.path ? `${err.path}${err.dest ? ` → ${err.dest}` : ''}` : err.syscall;
  const writing = WRITE_SYSCALLS.has(err.syscall) || ['EROFS', 'ENOSPC', 'EDQUOT'].includes(err.code);
  const msg = `${where}: ${describeFsCode(err.code)} (${writing ? 'writing' : 'reading'}; ${err.code} from ${err.syscall})`;
  return writing ? new UsageError(msg) : new DataError(msg, err.path);
}
