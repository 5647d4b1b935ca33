/**
 * Parameter storage for lt-bench's models: named trainable variables, named buffers (batch-norm
 * running statistics) and the buffer updates a training forward pass queues.
 * Initialisation draws from lt-bench's seeded Rng, never from tfjs's unseeded initialisers.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import { detachForUpdate } from '../losses/stop-gradient.js';

export interface BufferUpdate {
  target: tf.Variable;
  /** New value, kept out of the step's tidy; disposed after it is applied. */
  value: tf.Tensor;
}

export class ParamStore {
  readonly trainable = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  /** Names of trainable variables that are frozen (not optimised), e.g. a stage-2 backbone. */
  readonly frozen = new Set<string>();
  private pending: BufferUpdate[] = [];

  constructor(readonly rng: Rng) {}

  addTrainable(name: string, shape: number[], values: Float32Array): tf.Variable {
    if (this.trainable.has(name) || this.buffers.has(name)) throw new Error(`duplicate parameter name ${name}`);
    // tfjs variable names are process-global; lt-bench keys by its own names instead.
    const v = tf.variable(tf.tensor(values, shape, 'float32'), true);
    this.trainable.set(name, v);
    return v;
  }

  addBuffer(name: string, shape: number[], fill: number): tf.Variable {
    if (this.trainable.has(name) || this.buffers.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const v = tf.variable(tf.fill(shape, fill), false);
    this.buffers.set(name, v);
    return v;
  }

  /**
   * A view of this store that prefixes every name it creates with `prefix.` (an expert's or a
   * branch's own copy of a head or layers: `experts.0.fc.weight`). It draws from the same seeded
   * generator and queues updates into this store, so creation order alone fixes the values.
   */
  scoped(prefix: string): ParamStore {
    const parent = this;
    const view = Object.create(parent) as ParamStore;
    view.addTrainable = (name, shape, values) => parent.addTrainable(`${prefix}.${name}`, shape, values);
    view.addBuffer = (name, shape, fill) => parent.addBuffer(`${prefix}.${name}`, shape, fill);
    view.queueUpdate = (target, value, detached) => parent.queueUpdate(target, value, detached);
    view.pendingValue = (target) => parent.pendingValue(target);
    return view;
  }

  /** Kaiming-normal (fan-in, gain √2), as torch.nn.init.kaiming_normal_ used by the CIFAR ResNets. */
  kaimingNormal(count: number, fanIn: number): Float32Array {
    const std = Math.sqrt(2 / fanIn);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.rng.normal() * std;
    return out;
  }

  uniform(count: number, bound: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = (this.rng.next() * 2 - 1) * bound;
    return out;
  }

  /**
   * Queues a buffer update computed in a training forward pass (the value is tf.keep'd; detached
   * under native autograd, so the next step's graph does not chain onto this one's, unless the
   * caller says it carries no gradient already).
   */
  queueUpdate(target: tf.Variable, value: tf.Tensor, detached = false): void {
    this.pending.push({ target, value: tf.keep(detached ? value : detachForUpdate(value)) });
  }

  /**
   * The value a buffer will have once the updates queued so far are applied (undefined: none
   * queued). A layer used twice in one step (BBN's shared trunk sees two streams) builds its
   * second update on the first, as PyTorch's in-place running statistics do.
   */
  pendingValue(target: tf.Variable): tf.Tensor | undefined {
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i].target === target) return this.pending[i].value;
    return undefined;
  }

  /** Applies and releases the queued buffer updates (after the optimiser step). */
  applyUpdates(): void {
    for (const u of this.pending) {
      u.target.assign(u.value);
      u.value.dispose();
    }
    this.pending = [];
  }

  /** Drops queued updates without applying them (e.g. evaluation in training mode). */
  discardUpdates(): void {
    for (const u of this.pending) u.value.dispose();
    this.pending = [];
  }

  /** Variables the optimiser updates. */
  optimisable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [k, v] of this.trainable) if (!this.frozen.has(k)) out.set(k, v);
    return out;
  }

  parameterCount(): number {
    let n = 0;
    for (const v of this.trainable.values()) n += v.size;
    return n;
  }

  /** Every stored tensor by name (trainable and buffers), for checkpoints. */
  all(): Map<string, tf.Variable> {
    return new Map([...this.trainable, ...this.buffers]);
  }

  dispose(): void {
    this.discardUpdates();
    for (const v of this.all().values()) v.dispose();
    this.trainable.clear();
    this.buffers.clear();
  }
}
