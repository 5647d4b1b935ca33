/**
 * Loading lt-bench's own small WebAssembly SIMD modules (built from native/<name>/*.c into base64
 * TypeScript files by scripts/build-wasm-kernels.mjs): the image pipeline's kernels and the wasm
 * backend's batch norm. Each module imports nothing and exports its memory, `__heap_base` and its
 * kernels; callers lay out buffers in its memory from `heapBase` on and grow it as needed.
 */

export interface SimdModule {
  memory: WebAssembly.Memory;
  /** First free byte (16-aligned) after the module's own data and stack. */
  heapBase: number;
}

/**
 * Instantiates a module and picks the named exports, or returns null where WebAssembly (with
 * SIMD) is unavailable, so callers fall back to JavaScript.
 */
export function instantiateSimdModule<T extends SimdModule>(base64: string, kernelNames: ReadonlyArray<Exclude<keyof T, keyof SimdModule>>): T | null {
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64')), {});
    const e = inst.exports as Record<string, unknown> & { memory: WebAssembly.Memory; __heap_base: WebAssembly.Global };
    const picked: Record<string, unknown> = { memory: e.memory, heapBase: align16(e.__heap_base.value as number) };
    for (const name of kernelNames) {
      if (typeof e[name as string] !== 'function') return null;
      picked[name as string] = e[name as string];
    }
    return picked as T;
  } catch {
    return null;
  }
}

/** Grows a module's memory so that bytes [0, end) exist (this detaches views of the old buffer). */
export function growMemory(m: SimdModule, end: number): void {
  const grow = end - m.memory.buffer.byteLength;
  if (grow > 0) m.memory.grow(Math.ceil(grow / 65536));
}

export const align16 = (n: number): number => (n + 15) & ~15;
