// N-API glue of the lt-bench libtorch addon: tensor table, data in/out, kernel dispatch.
#include <napi.h>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "table.h"

namespace lt {

State& state() {
  static State s;
  return s;
}

at::Tensor contiguousCounted(const at::Tensor& t) {
  if (t.is_contiguous()) return t;
  State& s = state();
  if (s.layoutCopies.size() <= s.currentOp) {
    s.layoutCopies.resize(s.currentOp + 1, 0);
    s.layoutCopyBytes.resize(s.currentOp + 1, 0);
  }
  s.layoutCopies[s.currentOp]++;
  s.layoutCopyBytes[s.currentOp] += t.numel() * static_cast<int64_t>(t.element_size());
  return t.contiguous();
}

at::ScalarType toScalarType(int code) {
  switch (code) {
    case kF32: return at::kFloat;
    case kI32: return at::kInt;
    case kBool: return at::kBool;
    default: throw std::runtime_error("lt_torch: unknown dtype code " + std::to_string(code));
  }
}

int fromScalarType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return kF32;
    case at::kInt: return kI32;
    case at::kBool: return kBool;
    default: throw std::runtime_error(std::string("lt_torch: unexpected dtype ") + c10::toString(t));
  }
}

int64_t store(at::Tensor t) {
  State& s = state();
  int64_t id;
  if (!s.freeSlots.empty()) {
    id = s.freeSlots.back();
    s.freeSlots.pop_back();
    s.tensors[static_cast<size_t>(id)] = std::move(t);
  } else {
    id = static_cast<int64_t>(s.tensors.size());
    s.tensors.push_back(std::move(t));
  }
  s.live++;
  return id;
}

at::Tensor& get(int64_t id) {
  State& s = state();
  if (id <= 0 || static_cast<size_t>(id) >= s.tensors.size() || !s.tensors[static_cast<size_t>(id)].defined()) {
    throw std::runtime_error("lt_torch: unknown tensor id " + std::to_string(id));
  }
  return s.tensors[static_cast<size_t>(id)];
}

at::Tensor& input(int64_t id) {
  at::Tensor& t = get(id);
  if (state().gradMode == 2 && t.is_inference()) t = t.clone();
  return t;
}

void release(int64_t id) {
  State& s = state();
  if (id <= 0 || static_cast<size_t>(id) >= s.tensors.size() || !s.tensors[static_cast<size_t>(id)].defined()) return;
  s.tensors[static_cast<size_t>(id)] = at::Tensor();
  s.freeSlots.push_back(id);
  s.live--;
}

void Out::add(at::Tensor t) {
  // Only the three tfjs dtypes ever leave a kernel (torch returns int64/double in places).
  switch (t.scalar_type()) {
    case at::kFloat: case at::kInt: case at::kBool: break;
    case at::kLong: case at::kShort: case at::kChar: case at::kByte: t = t.to(at::kInt); break;
    default: t = t.to(at::kFloat); break;
  }
  State& s = state();
  const int64_t rank = t.dim();
  if (pos_ + 3 + static_cast<size_t>(rank) > s.outLen) throw std::runtime_error("lt_torch: result buffer too small");
  const int dtype = fromScalarType(t.scalar_type());
  double* o = s.out;
  o[pos_++] = 0;  // id, filled below
  size_t idPos = pos_ - 1;
  o[pos_++] = dtype;
  o[pos_++] = static_cast<double>(rank);
  for (int64_t d = 0; d < rank; d++) o[pos_++] = static_cast<double>(t.size(d));
  o[idPos] = static_cast<double>(store(std::move(t)));
  o[0] += 1;
}

// cuda-info.cc
Napi::Value CudaDevices(const Napi::CallbackInfo& info);

}  // namespace lt

namespace {

using namespace lt;

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = state();
  auto args = info[0].As<Napi::Float64Array>();
  auto out = info[1].As<Napi::Float64Array>();
  s.args = args.Data();
  s.argsLen = args.ElementLength();
  s.out = out.Data();
  s.outLen = out.ElementLength();
  // Keep the buffers alive as long as the addon (they are referenced from JS too).
  static Napi::Reference<Napi::Float64Array> argsRef, outRef;
  argsRef = Napi::Persistent(args);
  outRef = Napi::Persistent(out);
  const int threads = info[2].As<Napi::Number>().Int32Value();
  const std::string device = info[3].As<Napi::String>().Utf8Value();
  if (threads > 0) at::set_num_threads(threads);
#if defined(__GLIBC__)
  // Keep freed tensor buffers for reuse instead of handing them back to the kernel. With glibc's
  // defaults, buffers that libtorch's worker threads allocate live in per-thread arenas, which
  // glibc shrinks on free, so every step zero-fills them again: ~150k page faults per ResNet-32
  // step (batch 128) in Node, against ~30k in a PyTorch process; these settings bring it to ~3.5k
  // (scripts/ measurements in native/torch/README.md). One arena for the process (small allocations
  // still go through glibc's per-thread caches). LT_TORCH_MALLOC=default leaves glibc alone.
  const char* mallocMode = std::getenv("LT_TORCH_MALLOC");
  if (mallocMode == nullptr || std::strcmp(mallocMode, "default") != 0) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    mallopt(M_TOP_PAD, 256 * 1024 * 1024);
  }
#endif
  try { at::set_num_interop_threads(1); } catch (...) { /* already set */ }
  if (device == "cuda" || (device == "auto" && at::hasCUDA())) {
    if (!at::hasCUDA()) throw Napi::Error::New(env, "lt_torch: CUDA requested but this libtorch has no usable CUDA device");
    s.device = at::Device(at::kCUDA, 0);
  } else {
    s.device = at::Device(at::kCPU);
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("device", s.device.str());
  res.Set("threads", at::get_num_threads());
  res.Set("torchVersion", TORCH_VERSION);
  res.Set("mkldnn", at::hasMKLDNN());
  res.Set("cuda", at::hasCUDA());
  const auto& table = ops();
  Napi::Array names = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); i++) names.Set(static_cast<uint32_t>(i), table[i].name);
  res.Set("ops", names);
  return res;
}

// The guard of a call into libtorch for the current grad mode (see State::gradMode).
class ModeGuard {
 public:
  explicit ModeGuard(int mode) {
    if (mode == 0) inference_.emplace(true);
    else grad_.emplace(mode == 2);
  }

 private:
  c10::optional<c10::InferenceMode> inference_;
  c10::optional<at::AutoGradMode> grad_;
};

Napi::Value FromData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModeGuard guard(state().gradMode);
  auto arr = info[0].As<Napi::TypedArray>();
  auto shapeArr = info[1].As<Napi::Array>();
  const int dtype = info[2].As<Napi::Number>().Int32Value();
  std::vector<int64_t> shape(shapeArr.Length());
  for (uint32_t i = 0; i < shapeArr.Length(); i++) shape[i] = shapeArr.Get(i).As<Napi::Number>().Int64Value();
  const at::ScalarType st = toScalarType(dtype);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (arr.ByteLength() < bytes) throw Napi::Error::New(env, "lt_torch: fromData: typed array smaller than the shape");
  uint8_t* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  if (bytes > 0) std::memcpy(t.data_ptr(), src, bytes);
  if (state().device.type() != at::kCPU) t = t.to(state().device);
  return Napi::Number::New(env, static_cast<double>(store(std::move(t))));
}

Napi::Value ToData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::InferenceMode guard;
  at::Tensor t = get(info[0].As<Napi::Number>().Int64Value());
  if (t.device().type() != at::kCPU) t = t.to(at::kCPU);
  t = t.contiguous();
  const size_t n = static_cast<size_t>(t.numel());
  switch (t.scalar_type()) {
    case at::kFloat: {
      auto a = Napi::Float32Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n * 4);
      return a;
    }
    case at::kInt: {
      auto a = Napi::Int32Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n * 4);
      return a;
    }
    case at::kBool: {
      auto a = Napi::Uint8Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n);
      return a;
    }
    default:
      throw Napi::Error::New(env, "lt_torch: toData: unexpected dtype");
  }
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  release(info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

// libtorch's autocast for the kernels of run(): 0 off (fp32), 1 bf16, 2 fp16. Reduced-precision
// results go back to tfjs as float32 (Out::add), so tfjs only ever sees its own dtypes; inside a
// kernel the autocast op list decides (convolutions and matmuls in bf16/fp16, reductions and
// batch norm in fp32), as in a PyTorch autocast region. The C++ API changed in PyTorch 2.4.
int autocastMode = 0;

class AutocastScope {
 public:
  explicit AutocastScope(int mode) : on_(mode != 0) {
    if (!on_) return;
    const at::ScalarType t = mode == 1 ? at::kBFloat16 : at::kHalf;
    cuda_ = state().device.is_cuda();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    const at::DeviceType d = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(d, t);
    at::autocast::set_autocast_enabled(d, true);
#else
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(t);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(t);
      at::autocast::set_cpu_enabled(true);
    }
#endif
  }
  ~AutocastScope() {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
#else
    if (cuda_) at::autocast::set_enabled(false);
    else at::autocast::set_cpu_enabled(false);
#endif
  }

 private:
  bool on_;
  bool cuda_ = false;
};

Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  const int mode = info[0].As<Napi::Number>().Int32Value();
  if (mode < 0 || mode > 2) throw Napi::Error::New(info.Env(), "lt_torch: setAutocast: mode must be 0 (fp32), 1 (bf16) or 2 (fp16)");
  if (mode == 2 && !state().device.is_cuda()) throw Napi::Error::New(info.Env(), "lt_torch: fp16 autocast needs CUDA (libtorch's CPU autocast does bf16 only)");
  autocastMode = mode;
  return info.Env().Undefined();
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  const uint32_t opcode = info[0].As<Napi::Number>().Uint32Value();
  const size_t nargs = info[1].As<Napi::Number>().Uint32Value();
  const auto& table = ops();
  if (opcode >= table.size()) throw Napi::Error::New(info.Env(), "lt_torch: bad opcode");
  try {
    ModeGuard guard(state().gradMode);
    AutocastScope autocast(autocastMode);
    state().currentOp = opcode;
    Args a(nargs);
    Out o;
    table[opcode].fn(a, o);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("lt_torch ") + table[opcode].name + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("lt_torch ") + table[opcode].name + ": " + e.what());
  }
  return info.Env().Undefined();
}

Napi::Value Live(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(state().live));
}

// {copies: {op: count}, bytes: {op: bytes}} since the last call; the counters restart at zero.
Napi::Value TakeLayoutCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = state();
  Napi::Object copies = Napi::Object::New(env);
  Napi::Object bytes = Napi::Object::New(env);
  const auto& table = ops();
  for (size_t op = 0; op < s.layoutCopies.size(); op++) {
    if (s.layoutCopies[op] == 0) continue;
    copies.Set(table[op].name, Napi::Number::New(env, static_cast<double>(s.layoutCopies[op])));
    bytes.Set(table[op].name, Napi::Number::New(env, static_cast<double>(s.layoutCopyBytes[op])));
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("copies", copies);
  r.Set("bytes", bytes);
  s.layoutCopies.assign(s.layoutCopies.size(), 0);
  s.layoutCopyBytes.assign(s.layoutCopyBytes.size(), 0);
  return r;
}

Napi::Value Reset(const Napi::CallbackInfo& info) {
  State& s = state();
  s.tensors.assign(1, at::Tensor());
  s.freeSlots.clear();
  s.live = 0;
  return info.Env().Undefined();
}

// ---- native autograd ------------------------------------------------------------------------
// 0 inference, 1 no grad, 2 recording (State::gradMode).
Napi::Value SetGradMode(const Napi::CallbackInfo& info) {
  const int mode = info[0].As<Napi::Number>().Int32Value();
  if (mode < 0 || mode > 2) throw Napi::Error::New(info.Env(), "lt_torch: setGradMode: mode must be 0, 1 or 2");
  state().gradMode = mode;
  return info.Env().Undefined();
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* what, F f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("lt_torch ") + what + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("lt_torch ") + what + ": " + e.what());
  }
}

// Makes tensor `id` a leaf that requires grad (or not). The slot gets a detached alias (a leaf even
// when the stored tensor is a view), an ordinary clone when it is an inference tensor.
Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "setRequiresGrad", [&]() {
    const int64_t id = info[0].As<Napi::Number>().Int64Value();
    const bool on = info[1].As<Napi::Boolean>().Value();
    at::Tensor& t = get(id);
    if (t.requires_grad() == on && t.is_leaf()) return info.Env().Undefined();
    at::AutoGradMode g(false);
    at::Tensor leaf = t.is_inference() ? t.clone() : t.detach();
    if (on) leaf.requires_grad_(true);
    t = leaf;
    return info.Env().Undefined();
  });
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), get(info[0].As<Napi::Number>().Int64Value()).requires_grad());
}

// One backward pass from scalar `id` (gradients accumulate into the leaves' .grad). A loss that
// reaches no leaf requiring grad is a no-op (every takeGrad then returns 0).
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info, "backward", [&]() {
    at::Tensor loss = get(info[0].As<Napi::Number>().Int64Value());
    if (!loss.requires_grad()) return Napi::Boolean::New(info.Env(), false);
    at::AutoGradMode g(true);
    loss.backward();
    return Napi::Boolean::New(info.Env(), true);
  });
}

// The .grad of leaf `id` as a new table entry (0: none), and the leaf's .grad reset.
Napi::Value TakeGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "takeGrad", [&]() {
    at::Tensor& t = get(info[0].As<Napi::Number>().Int64Value());
    at::Tensor g = t.grad();
    if (!g.defined()) return Napi::Number::New(info.Env(), 0);
    t.mutable_grad() = at::Tensor();
    // Row-major in the tfjs shape, as the tape's gradients are: a conv filter's gradient arrives
    // with OIHW strides, and a parameter updated from it would carry them into the next step,
    // where libtorch 1.13 picks other convolution kernels for such a filter (measurably different
    // filter gradients, see test/backends/torch-autograd.test.ts).
    g = contiguousCounted(g);
    return Napi::Number::New(info.Env(), static_cast<double>(store(std::move(g))));
  });
}

// ---- fused SGD ------------------------------------------------------------------------------
// One optimiser step over every parameter, exactly src/train/sgd.ts's (= torch.optim.SGD): coupled
// L2 (g + wd·p) before momentum, buf = m·buf + g (the first step: buf = g), Nesterov g + m·buf,
// p − lr·update, with per-parameter lr and wd. Inputs are never written (tfjs tensors are
// immutable and may share storage); the new parameters and buffers are new table entries, made
// outside inference mode so that native autograd can make them leaves without a copy.
// Arguments: param ids, grad ids, buffer ids (0: none yet), lrs, wds (arrays), momentum, nesterov.
// Returns [new param ids..., new buffer ids (0 without momentum)...].
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  return guarded(info, "sgdStep", [&]() {
    Napi::Env env = info.Env();
    auto ids = [](const Napi::Value& v) {
      auto a = v.As<Napi::Array>();
      std::vector<double> out(a.Length());
      for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().DoubleValue();
      return out;
    };
    const auto params = ids(info[0]), grads = ids(info[1]), bufs = ids(info[2]), lrs = ids(info[3]), wds = ids(info[4]);
    const double momentum = info[5].As<Napi::Number>().DoubleValue();
    const bool nesterov = info[6].As<Napi::Boolean>().Value();
    const size_t n = params.size();
    if (grads.size() != n || bufs.size() != n || lrs.size() != n || wds.size() != n) throw std::runtime_error("argument arrays differ in length");
    at::AutoGradMode noGrad(false);
    // float32 0-dim scalars, as tfjs passes its scalars to the kernels (bit-identical to sgd.ts);
    // on the CPU, which binary ops accept next to CUDA tensors (no host-to-device copy per scalar)
    auto scalar = [](double v) { return at::scalar_tensor(v, at::TensorOptions().dtype(at::kFloat)); };
    std::vector<at::Tensor> newP(n), newB(n);
    for (size_t i = 0; i < n; i++) {
      const at::Tensor& p = get(static_cast<int64_t>(params[i]));
      at::Tensor g = get(static_cast<int64_t>(grads[i]));
      if (wds[i] > 0) g = at::add(g, at::mul(p, scalar(wds[i])));
      at::Tensor update = g;
      if (momentum > 0) {
        at::Tensor buf = bufs[i] != 0 ? at::add(at::mul(get(static_cast<int64_t>(bufs[i])), scalar(momentum)), g) : g.clone();
        update = nesterov ? at::add(g, at::mul(buf, scalar(momentum))) : buf;
        newB[i] = buf;
      }
      newP[i] = at::sub(p, at::mul(update, scalar(lrs[i])));
    }
    auto out = Napi::Array::New(env, 2 * n);
    for (size_t i = 0; i < n; i++) {
      out.Set(static_cast<uint32_t>(i), static_cast<double>(store(std::move(newP[i]))));
      out.Set(static_cast<uint32_t>(n + i), newB[i].defined() ? static_cast<double>(store(std::move(newB[i]))) : 0.0);
    }
    return static_cast<Napi::Value>(out);
  });
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep));
  exports.Set("setGradMode", Napi::Function::New(env, SetGradMode));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("requiresGrad", Napi::Function::New(env, RequiresGrad));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("takeGrad", Napi::Function::New(env, TakeGrad));
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("fromData", Napi::Function::New(env, FromData));
  exports.Set("toData", Napi::Function::New(env, ToData));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("live", Napi::Function::New(env, Live));
  exports.Set("reset", Napi::Function::New(env, Reset));
  exports.Set("takeLayoutCopies", Napi::Function::New(env, TakeLayoutCopies));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("cudaDevices", Napi::Function::New(env, lt::CudaDevices));
  return exports;
}

}  // namespace

NODE_API_MODULE(lt_torch, InitModule)
