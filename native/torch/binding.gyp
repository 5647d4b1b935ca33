{
  # Built only by `npm run build:torch` (scripts/build-torch.mjs), never by `npm ci`: this file is
  # not at the package root. The build script passes the libtorch location through variables.
  "variables": {
    "torch_include%": "/usr/include",
    "torch_api_include%": "/usr/include/torch/csrc/api/include",
    "torch_lib%": "/usr/lib/x86_64-linux-gnu",
    "torch_cxx11_abi%": "1",
    "torch_extra_libs%": "",
    "torch_cxx_std%": "c++17"
  },
  "targets": [
    {
      "target_name": "lt_torch",
      "sources": ["src/addon.cc", "src/ops.cc", "src/cuda-info.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(torch_include)",
        "<(torch_api_include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=<(torch_cxx11_abi)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=<(torch_cxx_std)", "-fexceptions", "-frtti", "-O3", "-Wno-deprecated-declarations", "-Wno-unused-parameter"],
      "libraries": [
        "-L<(torch_lib)", "-Wl,-rpath,<(torch_lib)",
        "-ltorch", "-ltorch_cpu", "-lc10", "-ldl", "<@(torch_extra_libs)"
      ]
    }
  ]
}
