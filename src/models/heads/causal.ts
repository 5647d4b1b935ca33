/**
 * The causal classifier of De-confound-TDE (Tang et al., "Long-Tailed Classification by Keeping the
 * Good and Removing the Bad Momentum Causal Effect", NeurIPS 2020), following KaihuaTang/
 * Long-Tailed-Recognition.pytorch `classification/models/CausalNormClassifier.py` and the moving
 * average in `classification/run_networks.py`:
 *
 *   features split into K chunks x_k;  x̂_k = x_k/‖x_k‖;  ŵ_{k,c} = w_{k,c}/(‖w_{k,c}‖ + γ)
 *   training:  z_c = (τ/K) Σ_k ⟨x̂_k, ŵ_{k,c}⟩
 *   every training step:  d ← μ·d + mean_batch(x)   (the "momentum" feature, not gradient-carrying)
 *   test (TDE): z_c = (τ/K) Σ_k ⟨x̂_k − α·cos(x_k, d_k)·d̂_k, ŵ_{k,c}⟩
 *
 * Defaults K = 2, τ = 16, γ = 1/32, α = 3 (survey config causal.yaml; the official CIFAR configs
 * use α = 1.5), μ = 0.9. W [d, C] is `fc.weight`, initialised U(−1/√d, 1/√d) as the official
 * reset_parameters; d is the buffer `fc.embedMean` (saved with every checkpoint, as the official
 * checkpoint saves `embed`).
 * Deviations: the official ImageNet/Places runs scale μ with the learning rate,
 * μ = 1 − 0.1·min(50·lr, 1); lt-bench keeps μ fixed (the official CIFAR behaviour), since a head
 * does not see the learning rate. A zero d (before any training step) subtracts nothing, where
 * the official code would divide by zero.
 */
import * as tf from '@tensorflow/tfjs';
import type { Head } from '../classifiers.js';
import type { ParamStore } from '../params.js';
import { unitNormalize } from './norm.js';

export interface CausalHeadOptions {
  numHeads: number;
  tau: number;
  gamma: number;
  alpha: number;
  momentum: number;
  /** Subtract the counterfactual (TDE) at test; false evaluates the plain causal-norm logits. */
  useEffect: boolean;
}

export const CAUSAL_DEFAULTS: CausalHeadOptions = { numHeads: 2, tau: 16, gamma: 1 / 32, alpha: 3, momentum: 0.9, useEffect: true };

export class CausalHead implements Head {
  readonly name = 'causal' as const;
  readonly weight: tf.Variable;
  readonly embedMean: tf.Variable;
  opts: CausalHeadOptions;
  private readonly headDim: number;

  constructor(private readonly store: ParamStore, inDim: number, numClasses: number, options: Record<string, unknown> = {}) {
    this.opts = { ...CAUSAL_DEFAULTS, ...(options as Partial<CausalHeadOptions>) };
    const K = this.opts.numHeads;
    if (!Number.isInteger(K) || K < 1 || inDim % K !== 0) {
      throw new Error(`causal head: feature dimension ${inDim} is not divisible by numHeads ${K}`);
    }
    this.headDim = inDim / K;
    this.weight = store.addTrainable('fc.weight', [inDim, numClasses], store.uniform(inDim * numClasses, 1 / Math.sqrt(inDim)));
    this.embedMean = store.addBuffer('fc.embedMean', [inDim], 0);
  }

  /** Test-time options only (α, useEffect): the others shape the trained parameters. */
  configure(options: Record<string, unknown>): Record<string, unknown> {
    const previous: Record<string, unknown> = {};
    for (const key of ['alpha', 'useEffect'] as const) {
      if (options[key] === undefined) continue;
      previous[key] = this.opts[key];
      this.opts = { ...this.opts, [key]: options[key] };
    }
    return previous;
  }

  /** Per-chunk unit features x̂ [B, d]. */
  private normFeatures(x: tf.Tensor2D): tf.Tensor3D {
    const [B] = x.shape;
    return unitNormalize(tf.reshape(x, [B, this.opts.numHeads, this.headDim]) as tf.Tensor3D, 2);
  }

  /** ŵ = w/(‖w‖ + γ) per chunk and class, [d, C]. */
  normWeight(): tf.Tensor2D {
    return tf.tidy(() => {
      const [d, C] = this.weight.shape;
      const w = tf.reshape(this.weight, [this.opts.numHeads, this.headDim, C]);
      const norms = tf.norm(w, 'euclidean', 1, true);
      return tf.reshape(tf.div(w, tf.add(norms, this.opts.gamma)), [d, C]) as tf.Tensor2D;
    });
  }

  apply(features: tf.Tensor2D, training = false): tf.Tensor2D {
    const { numHeads: K, tau, alpha, momentum, useEffect } = this.opts;
    if (training) {
      // d ← μ d + mean_batch(x), applied after the optimiser step with the batch-norm updates;
      // it is not part of the loss, so no gradient flows through it (the official .detach()).
      this.store.queueUpdate(this.embedMean, tf.tidy(() => tf.add(tf.mul(this.embedMean, momentum), tf.mean(features, 0))));
    }
    return tf.tidy(() => {
      const [B, d] = features.shape;
      let x = this.normFeatures(features); // [B, K, hd]
      if (!training && useEffect) {
        const c = unitNormalize(tf.reshape(this.embedMean, [1, K, this.headDim]) as tf.Tensor3D, 2); // d̂_k
        // x̂ and d̂ are unit per chunk, so cos(x_k, d_k) = ⟨x̂_k, d̂_k⟩.
        const cos = tf.sum(tf.mul(x, c), 2, true); // [B, K, 1]
        x = tf.sub(x, tf.mul(tf.mul(cos, alpha), c));
      }
      return tf.mul(tf.matMul(tf.reshape(x, [B, d]) as tf.Tensor2D, this.normWeight()), tau / K) as tf.Tensor2D;
    });
  }
}
