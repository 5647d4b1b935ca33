// CUDA devices as the driver sees them (name, compute capability, memory), for `lt-bench doctor`
// and scripts/gpu-check.sh. Read through the driver API of libcuda.so.1, opened at run time: it
// is present wherever an NVIDIA driver is, needs no CUDA headers at build time (a CPU libtorch
// such as Debian's has none), and its C ABI is stable across CUDA versions, unlike the runtime's
// cudaDeviceProp struct.
#include <napi.h>

#include <ATen/Context.h>
#include <dlfcn.h>

#include <string>

namespace lt {

namespace {

// Driver API signatures (cuda.h); CUresult 0 is CUDA_SUCCESS.
using CuInit = int (*)(unsigned int);
using CuDeviceGetCount = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);
using CuDeviceGetAttribute = int (*)(int*, int, int);
using CuDeviceTotalMem = int (*)(size_t*, int);
using CuDriverGetVersion = int (*)(int*);

constexpr int kComputeCapabilityMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kComputeCapabilityMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

template <typename F>
F symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}

}  // namespace

// {libtorchCuda, driver: version | null, devices: [{index, name, capability, memoryMB}], reason?}
Napi::Value CudaDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object res = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
  res.Set("libtorchCuda", at::hasCUDA());
  res.Set("devices", devices);
  res.Set("driver", env.Null());
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) {
    res.Set("reason", "no NVIDIA driver (libcuda.so.1 not found)");
    return res;
  }
  auto init = symbol<CuInit>(lib, "cuInit");
  auto count = symbol<CuDeviceGetCount>(lib, "cuDeviceGetCount");
  auto get = symbol<CuDeviceGet>(lib, "cuDeviceGet");
  auto name = symbol<CuDeviceGetName>(lib, "cuDeviceGetName");
  auto attribute = symbol<CuDeviceGetAttribute>(lib, "cuDeviceGetAttribute");
  auto totalMem = symbol<CuDeviceTotalMem>(lib, "cuDeviceTotalMem_v2");
  auto driverVersion = symbol<CuDriverGetVersion>(lib, "cuDriverGetVersion");
  if (!init || !count || !get || !name || !attribute || !totalMem) {
    res.Set("reason", "libcuda.so.1 lacks the driver API calls this needs");
    return res;
  }
  int rc = init(0);
  if (rc != 0) {
    res.Set("reason", "cuInit failed with CUresult " + std::to_string(rc));
    return res;
  }
  int version = 0;
  if (driverVersion && driverVersion(&version) == 0) {
    res.Set("driver", std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10));
  }
  int n = 0;
  if (count(&n) != 0) n = 0;
  for (int i = 0; i < n; i++) {
    int dev = 0;
    if (get(&dev, i) != 0) continue;
    char buf[256] = {0};
    name(buf, sizeof(buf) - 1, dev);
    int major = 0;
    int minor = 0;
    attribute(&major, kComputeCapabilityMajor, dev);
    attribute(&minor, kComputeCapabilityMinor, dev);
    size_t bytes = 0;
    totalMem(&bytes, dev);
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    d.Set("name", std::string(buf));
    d.Set("capability", std::to_string(major) + "." + std::to_string(minor));
    d.Set("memoryMB", static_cast<double>(bytes / (1024 * 1024)));
    devices.Set(static_cast<uint32_t>(devices.Length()), d);
  }
  if (n == 0) res.Set("reason", "the driver reports no CUDA device");
  // libcuda stays loaded: libtorch's CUDA runtime uses it too, and unloading a driver is unsafe.
  return res;
}

}  // namespace lt
