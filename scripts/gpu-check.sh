#!/usr/bin/env bash
# The GPU check: runs lt-bench's torch backend on a machine that has PyTorch (with CUDA) and a C++
# compiler, but no Node.js, no make and no network. Made for whoever has a GPU: the development
# machines and CI have none.
#
#   bash gpu-check.sh [lt-bench-gpu.tar.gz] [--device cuda|cpu] [--python PY] [--work DIR] [--keep]
#
# The bundle (`npm run bundle:gpu`, default: lt-bench-gpu.tar.gz beside this script) holds the built
# JavaScript, a Node.js binary and its headers, the addon's sources and node-addon-api. This script
#   1. unpacks it into a fresh directory (--work, default a temporary one, removed unless --keep);
#   2. finds PyTorch (--python, else python3, else /usr/bin/python3) and compiles the addon against
#      the libtorch inside it with one plain compiler command per source file ($CXX, default c++);
#      a PyTorch without headers (Debian's python3-torch) uses the system libtorch-dev's;
#   3. runs the parity suites on the device (node --test, the bundle's own node): every kernel
#      against tfjs's cpu backend, native autograd's gradients against the tape's for every
#      backbone and loss, the fused SGD step against the op-by-op one;
#   4. measures training images/s (ResNeXt-50 batch 64, fp32 and bf16, beside PyTorch eager on the
#      same device; ResNet-32 with --device cpu) and the input pipeline's images/s.
# It prints one JSON document on stdout (progress on stderr) and exits 0 only when every part
# passed. `--device cpu` runs the same path on a machine without a GPU.
set -euo pipefail

started=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
bundle="$here/lt-bench-gpu.tar.gz"
device=cuda
python=""
work=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    *) bundle=$1; shift ;;
  esac
done
case "$device" in cuda|cpu) ;; *) echo "gpu-check: --device must be cuda or cpu, not $device" >&2; exit 2 ;; esac
[ -f "$bundle" ] || { echo "gpu-check: bundle $bundle not found (make it with npm run bundle:gpu)" >&2; exit 2; }
log() { echo "gpu-check: $*" >&2; }

if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/lt-bench-gpu-check.XXXXXX")
  [ "$keep" -eq 1 ] || trap 'rm -rf "$work"' EXIT
else
  mkdir -p "$work"
fi

# 1. unpack
tar -xzf "$bundle" -C "$work"
root="$work/lt-bench-gpu"
node="$root/node/bin/node"
[ -x "$node" ] || { echo "gpu-check: $bundle has no node/bin/node" >&2; exit 2; }
log "unpacked into $root ($("$node" --version))"

# 2. PyTorch and its libtorch
if [ -z "$python" ]; then
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then python=$(command -v "$p"); break; fi
  done
fi
[ -n "$python" ] || { echo "gpu-check: no python with PyTorch found (pass --python)" >&2; exit 2; }
# PyTorch's headers require C++20 from 2.12 on (C++17 before)
read -r torch_dir torch_version abi cuda_built cxx_std < <("$python" -c 'import os, torch
v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
print(os.path.dirname(torch.__file__), torch.__version__, int(torch._C._GLIBCXX_USE_CXX11_ABI), int(torch.version.cuda is not None), "c++20" if v >= (2, 12) else "c++17")')
if [ -f "$torch_dir/include/torch/csrc/api/include/torch/torch.h" ] && [ -f "$torch_dir/lib/libtorch.so" ]; then
  torch_include="$torch_dir/include"
  torch_lib="$torch_dir/lib"
else
  # a distribution's PyTorch (Debian's python3-torch) links the system libtorch; its headers come with libtorch-dev
  multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  torch_include=/usr/include
  torch_lib=/usr/lib/$multiarch
  [ -f /usr/include/torch/csrc/api/include/torch/torch.h ] || { echo "gpu-check: $torch_dir has no C++ headers and libtorch-dev is not installed" >&2; exit 2; }
fi
if [ "$device" = cuda ] && [ "$cuda_built" != 1 ]; then
  echo "gpu-check: --device cuda, but the PyTorch of $python ($torch_version) is built without CUDA" >&2
  exit 2
fi

cxx=${CXX:-c++}
command -v "$cxx" >/dev/null || { echo "gpu-check: no C++ compiler ($cxx; set CXX)" >&2; exit 2; }
src="$root/addon/src"
obj="$root/addon/obj"
mkdir -p "$obj"
flags=("-std=$cxx_std" -O2 -fPIC -fexceptions -frtti -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS "-D_GLIBCXX_USE_CXX11_ABI=$abi"
  -Wno-deprecated-declarations -Wno-unused-parameter
  -I"$root/node/include/node" -I"$root/addon/node-addon-api" -I"$torch_include" -I"$torch_include/torch/csrc/api/include")
libs=(-L"$torch_lib" "-Wl,-rpath,$torch_lib" -ltorch -ltorch_cpu -lc10 -ldl)
for l in torch_cuda c10_cuda; do
  # CUDA builds: load the CUDA libraries even though no symbol of theirs is named, so at::hasCUDA() sees them
  [ -f "$torch_lib/lib$l.so" ] && libs+=("-Wl,--no-as-needed,-l$l,--as-needed")
done
log "compiling the addon with $cxx against $torch_lib (PyTorch $torch_version, C++11 ABI $abi)"
build_start=$(date +%s)
pids=()
for f in "$src"/*.cc; do
  "$cxx" "${flags[@]}" -c "$f" -o "$obj/$(basename "$f" .cc).o" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { echo "gpu-check: compiling the addon failed" >&2; exit 1; }; done
addon="$root/addon/lt_torch.node"
"$cxx" -shared -o "$addon" "$obj"/*.o "${libs[@]}"
build_seconds=$(( $(date +%s) - build_start ))
log "built $addon in ${build_seconds} s"
cat > "$root/build.json" <<EOF
{"seconds": $build_seconds, "compiler": "$("$cxx" --version | head -1 | sed 's/"/\\"/g')", "libtorch": "$torch_lib", "torchVersion": "$torch_version", "cxx11Abi": $abi, "cudaBuilt": $( [ "$cuda_built" = 1 ] && echo true || echo false )}
EOF

# 3. parity on the device: kernels, native autograd, fused SGD
export LT_TORCH_ADDON="$addon" LT_TORCH_DEVICE="$device" LT_BENCH_TEST_BACKEND=torch CI=true
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
log "kernel parity on $device"
parity_rc=0
(cd "$root/app" && "$node" --test --test-concurrency=1 --test-reporter=tap dist/test/backends/torch-parity.test.js \
  dist/test/backends/torch-autograd-parity.test.js dist/test/backends/torch-sgd.test.js) > "$root/parity.tap" 2>&1 || parity_rc=$?
log "kernel parity: exit $parity_rc ($(grep -E '^# (pass|fail) ' "$root/parity.tap" | tr '\n' ' '))"

# 4. training and input pipeline; the JSON document
"$node" "$root/app/dist/scripts/gpu-check.js" --device "$device" --python "$python" \
  --build "$root/build.json" --parity "$root/parity.tap" --started "$started"
