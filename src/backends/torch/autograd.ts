/**
 * Native autograd on the `torch` backend: the forward runs through the same tfjs model code, but the
 * native tensors record libtorch's own autograd graph (the trainable variables are leaves that
 * require grad) and the backward pass is one native call, instead of tfjs's tape dispatching every
 * backward op from JS and keeping every forward intermediate alive.
 *
 *   nativeVariableGrads(f, vars)  // same result as tf.variableGrads(f, vars) on this path
 *   autogradChoice()              // which engine a training run uses here, and why
 *
 * `f` runs outside any tfjs gradient scope (the tape records nothing) inside a tidy that keeps only
 * the loss: intermediates' JS handles are freed before backward, so only the tensors libtorch saved
 * for backward stay alive, as in PyTorch. tf.customGrad never reaches the backend, so every custom
 * gradient that matters has an explicit native kernel (stop-gradient → detach, batch norm →
 * ATen's autograd-aware native_batch_norm). A kernel forwarded to the cpu backend copies through
 * JS and cuts the graph: such a step throws `NativeGraphCutError` and the caller falls back to the
 * tape (src/train/trainer.ts does, for the rest of the run).
 */
import * as tf from '@tensorflow/tfjs';
import { TorchBackend } from './backend.js';
import { setNativeRecording, stopGradient } from '../../losses/stop-gradient.js';
import { UsageError } from '../../errors.js';

export type AutogradEngine = 'native' | 'tape';
export interface AutogradChoice { engine: AutogradEngine; reason: string }

/**
 * The default on `torch` when LT_TORCH_AUTOGRAD is unset. Native autograd matches the tape's
 * gradients for every registered backbone and loss (test/backends/torch-autograd.test.ts).
 */
export const DEFAULT_TORCH_AUTOGRAD: AutogradEngine = 'native';

/** A step whose forward ran a cpu-forwarded kernel on a tensor that requires grad. */
export class NativeGraphCutError extends Error {
  constructor(readonly kernel: string) {
    super(`kernel '${kernel}' has no native torch implementation: its cpu forwarding cuts libtorch's autograd graph`);
    this.name = 'NativeGraphCutError';
  }
}

/** The active backend when it can run native autograd, else undefined. */
function nativeBackend(): TorchBackend | undefined {
  const b = tf.backend();
  return b instanceof TorchBackend && b.hasNativeAutograd ? b : undefined;
}

/**
 * The engine a training run uses on the active backend: native on `torch` (LT_TORCH_AUTOGRAD=tape
 * to use the tape, =native to insist), the tape everywhere else.
 */
export function autogradChoice(env: NodeJS.ProcessEnv = process.env): AutogradChoice {
  const asked = env.LT_TORCH_AUTOGRAD;
  if (asked !== undefined && asked !== '' && asked !== 'native' && asked !== 'tape') {
    throw new UsageError(`LT_TORCH_AUTOGRAD: '${asked}' is not one of native, tape`);
  }
  const b = tf.backend();
  if (!(b instanceof TorchBackend)) return { engine: 'tape', reason: `backend '${tf.getBackend()}' has no native autograd` };
  if (!b.hasNativeAutograd) return { engine: 'tape', reason: 'the torch addon predates native autograd (rebuild it with `npm run build:torch`)' };
  if (asked === 'tape') return { engine: 'tape', reason: 'LT_TORCH_AUTOGRAD=tape' };
  if (asked === 'native') return { engine: 'native', reason: 'LT_TORCH_AUTOGRAD=native' };
  return { engine: DEFAULT_TORCH_AUTOGRAD, reason: `default on torch (LT_TORCH_AUTOGRAD=${DEFAULT_TORCH_AUTOGRAD === 'native' ? 'tape' : 'native'} to change)` };
}

/** One line for `lt-bench doctor`: the engine training on torch uses (without starting the backend). */
export function describeTorchAutograd(env: NodeJS.ProcessEnv = process.env): string {
  const asked = env.LT_TORCH_AUTOGRAD;
  if (asked !== undefined && asked !== '' && asked !== 'native' && asked !== 'tape') return `LT_TORCH_AUTOGRAD='${asked}' is invalid (native or tape): runs will refuse it`;
  const engine = asked === 'native' || asked === 'tape' ? asked : DEFAULT_TORCH_AUTOGRAD;
  const how = engine === 'native' ? "native (libtorch's autograd: one backward call per step)" : "tfjs's tape";
  return `${how}${asked ? ` (LT_TORCH_AUTOGRAD=${asked})` : ` by default (LT_TORCH_AUTOGRAD=${engine === 'native' ? 'tape' : 'native'} to change)`}`;
}

/** Whether nativeVariableGrads can run on the active backend. */
export function nativeAutogradAvailable(): boolean {
  return nativeBackend() !== undefined;
}

/**
 * `tf.variableGrads(f, vars)` through libtorch's autograd: {value, grads} with grads keyed by
 * variable name (a variable the loss does not reach has none). `value` carries no graph.
 * Throws NativeGraphCutError (nothing applied, nothing leaked) when the forward cut the graph.
 */
export function nativeVariableGrads(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const b = nativeBackend();
  if (!b) throw new Error('nativeVariableGrads needs the torch backend with a native-autograd addon');
  // A variable's data id changes on every assign (optimiser steps, checkpoint restores): its
  // current tensor is made a leaf that requires grad for this step only.
  for (const v of vars) b.setRequiresGrad(v.dataId, true);
  let loss: tf.Scalar | undefined;
  try {
    b.graphCut = undefined;
    b.setGradMode(2);
    setNativeRecording(true);
    try {
      loss = tf.tidy(f);
    } finally {
      b.setGradMode(0);
      setNativeRecording(false);
    }
    if (b.graphCut !== undefined) throw new NativeGraphCutError(b.graphCut);
    const grads: tf.NamedTensorMap = {};
    if (b.backward(loss)) {
      for (const v of vars) {
        const g = b.takeGrad(v);
        if (g) grads[v.name] = tf.engine().makeTensorFromTensorInfo(g, b);
      }
    }
    // The returned value must not hold the graph (its nodes reference every leaf of the step).
    const value = stopGradient(loss) as tf.Scalar;
    return { value, grads };
  } finally {
    loss?.dispose();
    for (const v of vars) if (!v.isDisposed) b.setRequiresGrad(v.dataId, false);
  }
}
