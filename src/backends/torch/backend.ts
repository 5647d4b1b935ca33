/**
 * `TorchBackend`: a tfjs KernelBackend whose tensors live in libtorch (through the addon).
 *
 * Every DataId owns one native tensor id. Kernel outputs always get fresh DataIds (as tfjs-node
 * does; cpu and wasm instead share the input's DataId and incRef it): a reshape, transpose, slice
 * or Identity is a libtorch view of its input, so kernels never incRef and libtorch's own
 * refcounting keeps shared storage alive.
 * Native memory is freed deterministically in `disposeData`.
 */
import * as tf from '@tensorflow/tfjs';
import { CODE_DTYPE, DTYPE_CODE, type NativeDType, type TorchAddon } from './native.js';

interface Rec { id: number; refCount: number; shape: number[]; dtype: tf.DataType }

const ARG_CAPACITY = 1 << 14;
const OUT_CAPACITY = 1 << 12;

export class TorchBackend extends tf.KernelBackend {
  readonly addon: TorchAddon;
  readonly device: string;
  readonly threads: number;
  readonly torchVersion: string;
  private readonly data: tf.DataStorage<Rec>;
  private readonly args = new Float64Array(ARG_CAPACITY);
  private readonly out = new Float64Array(OUT_CAPACITY);
  private readonly opcodes = new Map<string, number>();
  private temps: number[] = [];
  /** Native autograd: whether kernels record libtorch's graph (grad mode 2). */
  recording = false;
  /** The first cpu-forwarded kernel that received a tensor requiring grad while recording (the graph is cut there). */
  graphCut: string | undefined;

  constructor(addon: TorchAddon, threads: number, device: string) {
    super();
    this.addon = addon;
    const info = addon.init(this.args, this.out, threads, device);
    this.device = info.device;
    this.threads = info.threads;
    this.torchVersion = info.torchVersion;
    info.ops.forEach((name, i) => this.opcodes.set(name, i));
    this.data = new tf.DataStorage<Rec>(this, tf.engine());
  }

  // ---- data ---------------------------------------------------------------------------------

  private upload(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): number {
    if (dtype === 'string' || dtype === 'complex64') {
      throw new Error(`the torch backend does not support ${dtype} tensors`);
    }
    const size = tf.util.sizeFromShape(shape);
    let typed: Float32Array | Int32Array | Uint8Array;
    if (values == null) {
      typed = dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
    } else if (dtype === 'float32') {
      typed = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
    } else if (dtype === 'int32') {
      typed = values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
    } else {
      typed = values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    }
    return this.addon.fromData(typed, shape, DTYPE_CODE[dtype as NativeDType]);
  }

  override write(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): tf.DataId {
    const dataId = {};
    this.data.set(dataId, { id: this.upload(values, shape, dtype), refCount: 1, shape, dtype });
    return dataId;
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, { id: this.upload(values, shape, dtype), refCount, shape, dtype });
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const rec = this.data.get(dataId);
    return this.addon.toData(rec.id);
  }

  override async read(dataId: tf.DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const rec = this.data.get(dataId);
    rec.refCount--;
    if (!force && rec.refCount > 0) return false;
    this.addon.free(rec.id);
    this.data.delete(dataId);
    return true;
  }

  override refCount(dataId: tf.DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: tf.DataId): void {
    if (this.data.has(dataId)) this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  /** `nativeTensors`: live tensors in the addon's table (passes through to tf.memory()). */
  override memory(): { unreliable: boolean; nativeTensors: number } {
    return { unreliable: false, nativeTensors: this.addon.live() };
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const t0 = tf.util.now();
    f();
    return { kernelMs: tf.util.now() - t0 };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override dispose(): void {
    this.addon.reset();
  }

  // ---- native autograd (src/backends/torch/autograd.ts) -------------------------------------

  /** Whether this addon has native autograd (addons built before it do not). */
  get hasNativeAutograd(): boolean {
    return typeof this.addon.backward === 'function' && this.opcodes.has('detach');
  }

  /** 0 inference (default), 1 no grad, 2 recording libtorch's autograd graph. */
  setGradMode(mode: 0 | 1 | 2): void {
    this.addon.setGradMode!(mode);
    this.recording = mode === 2;
  }

  setRequiresGrad(dataId: tf.DataId, on: boolean): void {
    this.addon.setRequiresGrad!(this.data.get(dataId).id, on);
  }

  requiresGrad(info: tf.TensorInfo): boolean {
    return this.data.has(info.dataId) && this.addon.requiresGrad!(this.data.get(info.dataId).id);
  }

  /** A cpu-forwarded kernel ran while recording: if an input requires grad, the graph is cut. */
  noteCpuKernel(kernelName: string, inputs: tf.TensorInfo[]): void {
    if (this.graphCut === undefined && inputs.some((x) => this.requiresGrad(x))) this.graphCut = kernelName;
  }

  /** One backward pass from scalar `loss`; false when it reaches nothing that requires grad. */
  backward(loss: tf.TensorInfo): boolean {
    return this.addon.backward!(this.data.get(loss.dataId).id);
  }

  /** The accumulated gradient of leaf `v` as a new TensorInfo of v's shape (null: none), reset in the leaf. */
  takeGrad(v: tf.TensorInfo): tf.TensorInfo | null {
    const id = this.addon.takeGrad!(this.data.get(v.dataId).id);
    if (id === 0) return null;
    const dataId = {};
    const shape = this.data.get(v.dataId).shape;
    this.data.set(dataId, { id, refCount: 1, shape, dtype: 'float32' });
    return { dataId, shape, dtype: 'float32' };
  }

  /**
   * src/train/sgd.ts's step for every parameter in one native call (FusedSgdBackend there): new
   * TensorInfos for the parameters and the momentum buffers; null when the addon predates it or a
   * tensor is not a plain float32 tensor of the parameter's shape (the caller then steps in JS).
   */
  fusedSgdStep(params: tf.TensorInfo[], grads: tf.TensorInfo[], bufs: Array<tf.TensorInfo | null>, lrs: number[], wds: number[], momentum: number, nesterov: boolean): { params: tf.TensorInfo[]; bufs: Array<tf.TensorInfo | null> } | null {
    if (typeof this.addon.sgdStep !== 'function') return null;
    const plain = (t: tf.TensorInfo, shape: number[]) => {
      const rec = this.data.get(t.dataId);
      return rec !== undefined && rec.dtype === 'float32' && t.dtype === 'float32' && sameShape(rec.shape, shape) && sameShape(t.shape, shape);
    };
    for (let i = 0; i < params.length; i++) {
      const b = bufs[i];
      if (!plain(params[i], params[i].shape) || !plain(grads[i], params[i].shape) || (b !== null && !plain(b, params[i].shape))) return null;
    }
    const nid = (t: tf.TensorInfo | null) => (t === null ? 0 : this.data.get(t.dataId).id);
    const out = this.addon.sgdStep(params.map(nid), grads.map(nid), bufs.map(nid), lrs, wds, momentum, nesterov);
    const wrap = (id: number, shape: number[]): tf.TensorInfo => {
      const dataId = {};
      this.data.set(dataId, { id, refCount: 1, shape, dtype: 'float32' });
      return { dataId, shape, dtype: 'float32' };
    };
    const n = params.length;
    return {
      params: params.map((p, i) => wrap(out[i], p.shape)),
      bufs: params.map((p, i) => (out[n + i] === 0 ? null : wrap(out[n + i], p.shape))),
    };
  }

  // ---- kernel plumbing ----------------------------------------------------------------------

  /** Native id of an input, viewed with the TensorInfo's shape and dtype (they can differ from the stored ones). */
  id(info: tf.TensorInfo): number {
    const rec = this.data.get(info.dataId);
    let id = rec.id;
    if (rec.dtype !== info.dtype) {
      // e.g. a cpu `Cast` shares its input's DataId and keeps the old typed array, so a tensor moved
      // here can arrive stored as int32 while the kernel's TensorInfo says float32
      id = this.runRaw('cast', [id, DTYPE_CODE[info.dtype as NativeDType]])[0].id;
      this.temps.push(id);
    }
    if (!sameShape(rec.shape, info.shape)) {
      id = this.runRaw('reshape', [id, info.shape.length, ...info.shape])[0].id;
      this.temps.push(id);
    }
    return id;
  }

  /** Optional input: 0 when absent. */
  optId(info: tf.TensorInfo | undefined | null): number {
    return info == null ? 0 : this.id(info);
  }

  private runRaw(op: string, args: number[]): Array<{ id: number; dtype: tf.DataType; shape: number[] }> {
    const code = this.opcodes.get(op);
    if (code === undefined) throw new Error(`torch addon has no op '${op}' (rebuild it with \`npm run build:torch\`)`);
    if (args.length > ARG_CAPACITY) throw new Error(`torch op '${op}': too many arguments`);
    this.args.set(args);
    this.addon.run(code, args.length);
    const o = this.out;
    const n = o[0];
    const res: Array<{ id: number; dtype: tf.DataType; shape: number[] }> = [];
    let p = 1;
    for (let k = 0; k < n; k++) {
      const id = o[p++];
      const dtype = CODE_DTYPE[o[p++]];
      const rank = o[p++];
      const shape = new Array<number>(rank);
      for (let d = 0; d < rank; d++) shape[d] = o[p++];
      res.push({ id, dtype, shape });
    }
    return res;
  }

  /** Runs a native op; args hold input ids (from `id()`) and numbers. Returns new TensorInfos. */
  run(op: string, args: number[]): tf.TensorInfo[] {
    try {
      return this.runRaw(op, args).map(({ id, dtype, shape }) => {
        const dataId = {};
        this.data.set(dataId, { id, refCount: 1, shape, dtype });
        return { dataId, shape, dtype };
      });
    } finally {
      for (const t of this.temps) this.addon.free(t);
      this.temps = [];
    }
  }

  run1(op: string, args: number[]): tf.TensorInfo {
    return this.run(op, args)[0];
  }

  /** Frees a kernel-internal temporary TensorInfo. */
  disposeIntermediate(info: tf.TensorInfo): void {
    this.disposeData(info.dataId);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
