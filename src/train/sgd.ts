/**
 * SGD with momentum, Nesterov and L2 weight decay, exactly as torch.optim.SGD (dampening 0):
 *   g ← g + wd·w;  buf ← μ·buf + g (buf = g on the first step);  g ← g + μ·buf if nesterov else buf;
 *   w ← w − lr·g.
 * Written out (rather than tf.train.momentum + a decay term) so the state is explicit, named and
 * checkpointable, and the learning rate is a plain argument of each step.
 */
import * as tf from '@tensorflow/tfjs';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /**
   * Parameter groups (a method's `paramGroups`): the first group naming a variable sets its
   * learning-rate factor and / or weight decay; other variables use lr and `weightDecay`.
   */
  groups?: Array<{ names: (name: string) => boolean; lrFactor?: number; weightDecay?: number }>;
  /** Use the backend's fused step where it has one (the torch backend; default true). Same arithmetic either way. */
  fused?: boolean;
}

/**
 * A backend that does the whole step in one call (the torch backend): new parameters and momentum
 * buffers (null: none), or null to decline (the step then runs op by op here).
 */
interface FusedSgdBackend {
  fusedSgdStep(params: tf.TensorInfo[], grads: tf.TensorInfo[], bufs: Array<tf.TensorInfo | null>, lrs: number[], wds: number[], momentum: number, nesterov: boolean):
    { params: tf.TensorInfo[]; bufs: Array<tf.TensorInfo | null> } | null;
}

export class Sgd {
  /** Momentum buffers by variable name. */
  readonly buffers = new Map<string, tf.Variable>();

  constructor(readonly opts: SgdOptions) {}

  /** lr and weight decay of one variable (its group's, else the defaults). */
  private rates(name: string, lr: number): { groupLr: number; weightDecay: number } {
    const group = this.opts.groups?.find((g) => g.names(name));
    // Without a factor the step is exactly lr·update (bit-identical to the ungrouped optimiser).
    return { groupLr: group?.lrFactor === undefined ? lr : lr * group.lrFactor, weightDecay: group?.weightDecay ?? this.opts.weightDecay };
  }

  step(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    if (this.opts.fused !== false && this.fusedStep(vars, grads, lr)) return;
    const { momentum, nesterov } = this.opts;
    for (const [name, v] of vars) {
      const g0 = grads[name];
      if (!g0) continue;
      const { groupLr, weightDecay } = this.rates(name, lr);
      tf.tidy(() => {
        const g = weightDecay > 0 ? tf.add(g0, tf.mul(v, weightDecay)) : g0;
        let update: tf.Tensor = g;
        if (momentum > 0) {
          const prev = this.buffers.get(name);
          const buf = prev ? tf.add(tf.mul(prev, momentum), g) : tf.clone(g);
          if (prev) prev.assign(buf);
          else this.buffers.set(name, tf.variable(buf, false));
          update = nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
        }
        v.assign(tf.sub(v, tf.mul(update, groupLr)));
      });
    }
  }

  /** The same step in one backend call (momentum buffers stay tfjs variables, checkpointed as before). */
  private fusedStep(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): boolean {
    const backend = tf.backend() as Partial<FusedSgdBackend>;
    if (typeof backend.fusedSgdStep !== 'function') return false;
    const names = [...vars.keys()].filter((name) => grads[name]);
    if (names.length === 0) return true;
    const rates = names.map((name) => this.rates(name, lr));
    const { momentum, nesterov } = this.opts;
    const res = backend.fusedSgdStep(names.map((n) => vars.get(n)!), names.map((n) => grads[n]), names.map((n) => (momentum > 0 ? this.buffers.get(n) ?? null : null)),
      rates.map((r) => r.groupLr), rates.map((r) => r.weightDecay), momentum, nesterov);
    if (res === null) return false;
    const engine = tf.engine();
    names.forEach((name, i) => {
      const p = engine.makeTensorFromTensorInfo(res.params[i], backend as unknown as tf.KernelBackend);
      vars.get(name)!.assign(p);
      p.dispose();
      const bi = res.bufs[i];
      if (bi === null) return;
      const buf = engine.makeTensorFromTensorInfo(bi, backend as unknown as tf.KernelBackend);
      const prev = this.buffers.get(name);
      if (prev) {
        prev.assign(buf);
        buf.dispose();
      } else {
        this.buffers.set(name, tf.variable(buf, false));
        buf.dispose(); // the variable holds the data
      }
    });
    return true;
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
