// Shared state of the lt-bench libtorch addon: the tensor table and the argument/result buffers.
//
// JS keeps one integer id per tfjs DataId; the id indexes `tensors`. Kernels are called through
// one N-API function, run(opcode, nargs): their arguments (tensor ids, integers, floats, all as
// doubles) are read from a Float64Array shared with JS, and their outputs are described in a second
// shared Float64Array as [count, (id, dtype, rank, dims...)...]. This avoids building JS objects
// per kernel call.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lt {

// tfjs dtypes as codes shared with src/backends/torch/native.ts
enum DType : int { kF32 = 0, kI32 = 1, kBool = 2 };

at::ScalarType toScalarType(int code);
int fromScalarType(at::ScalarType t);

struct State {
  std::vector<at::Tensor> tensors{at::Tensor()};  // slot 0 is never used
  std::vector<int64_t> freeSlots;
  int64_t live = 0;
  double* args = nullptr;
  size_t argsLen = 0;
  double* out = nullptr;
  size_t outLen = 0;
  at::Device device{at::kCPU};
  // Layout copies (a permuted view made contiguous: NHWC data handed to an NCHW kernel, an OIHW
  // filter gradient returned as HWIO), per opcode and in bytes, for the layout benchmark.
  uint32_t currentOp = 0;
  // Autograd mode of run(): 0 = inference (c10::InferenceMode: no graph, the fastest; the default),
  // 1 = no grad (ordinary tensors, no graph), 2 = recording (libtorch's autograd graph is built for
  // inputs that require grad; inference tensors are cloned into ordinary ones on first use).
  int gradMode = 0;
  std::vector<int64_t> layoutCopies;
  std::vector<int64_t> layoutCopyBytes;
};

// `t.contiguous()`, counted as a layout copy of the running op when it copies.
at::Tensor contiguousCounted(const at::Tensor& t);

State& state();

int64_t store(at::Tensor t);
at::Tensor& get(int64_t id);
// A kernel's input: get(id), made usable by autograd in recording mode (an inference tensor, made
// before recording started, cannot be saved for backward: it is replaced by an ordinary clone).
at::Tensor& input(int64_t id);
void release(int64_t id);

// Reads the arguments of one run() call, in order.
class Args {
 public:
  explicit Args(size_t n) : n_(n) {}
  double f() {
    if (i_ >= n_) throw std::runtime_error("lt_torch: too few arguments");
    return state().args[i_++];
  }
  int64_t i() { return static_cast<int64_t>(f()); }
  bool b() { return f() != 0.0; }
  at::Tensor& t() { return input(i()); }
  // optional tensor: id 0 = absent
  c10::optional<at::Tensor> opt() {
    int64_t id = i();
    if (id == 0) return c10::nullopt;
    return input(id);
  }
  std::vector<int64_t> iv() {  // length-prefixed list
    int64_t n = i();
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = i();
    return v;
  }

 private:
  size_t n_;
  size_t i_ = 0;
};

// Collects a kernel's outputs into the shared result buffer.
class Out {
 public:
  Out() { state().out[0] = 0; pos_ = 1; }
  void add(at::Tensor t);

 private:
  size_t pos_;
};

using OpFn = void (*)(Args&, Out&);
struct OpEntry {
  const char* name;
  OpFn fn;
};
const std::vector<OpEntry>& ops();

}  // namespace lt
