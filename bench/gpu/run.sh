#!/usr/bin/env bash
# One-command device check on a machine with an NVIDIA GPU and its Vulkan driver.
#
#   bash bench/gpu/run.sh [--quick] [--out DIR] [--skip-install] [--skip-tests] [--skip-bench]
#                         [--skip-torch] [--sections model,peers] [--tests 'FILE ...'] [--allow-software]
#
# From the repository root or anywhere; everything lands in one folder (default
# bench/results/gpu-<UTC date>/):
#   run.log            everything this script printed
#   summary.txt        each step and its exit status
#   system.txt         uname, CPU, memory, node/npm/python versions, the Vulkan ICD used
#   nvidia-smi.txt     `nvidia-smi` and `nvidia-smi -q`
#   vulkaninfo.txt     `vulkaninfo --summary` (when vulkan-tools is installed)
#   adapter.json       the WebGPU adapter Dawn gave this library (bench/gpu/adapter.ts)
#   npm-ci.log         `npm ci` (when it ran)
#   tests.log, tests.json   the WebGPU cross-check tests (vitest, CI=true: no silent skips)
#   bench.log, bench.json   `npm run bench -- --only model,peers --torch-device cpu,cuda`
#   torch-cuda.json, torch-cuda.log   bench/torch_model.py --device cuda on its own
#
# Steps: (1) node >= 20 and npm, then `npm ci` unless node_modules is already installed from
# this package-lock.json; (2) the Vulkan loader and the NVIDIA ICD: VK_DRIVER_FILES (and the
# older VK_ICD_FILENAMES) are pointed at nvidia_icd.json alone, so Dawn cannot fall back to a
# software driver, and bench/gpu/adapter.ts fails the run if the adapter is still a software one;
# (3) the test files that cross-check WebGPU against the CPU reference (tests/kernels/ when it
# exists, tests/webgpu/, and every other test file that runs on the webgpu device, found by
# grep; not the browser/demo tests, which need Chromium; --tests names the files instead); (4) the model bench with every peer;
# (5) the PyTorch script on CUDA. A failing step does not stop the later ones; the exit status is
# the number of failed steps (0: all passed).
#
# Environment: NODE_DIR (a Node.js install whose bin/ holds node and npm; else PATH, else
# .node/ in the repository), RESEMOTENET_PYTHON (the Python with torch; else python3, then
# /usr/bin/python3), VK_DRIVER_FILES (an ICD json to use instead of the NVIDIA one found here).
# With no Vulkan loader (libvulkan.so.1) and Debian packages in .gl/ (libvulkan1 ...), they are
# unpacked into / first (root only), as the device machines of this workplace need.

set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 100

QUICK=0 SKIP_INSTALL=0 SKIP_TESTS=0 SKIP_BENCH=0 SKIP_TORCH=0 ALLOW_SOFTWARE=0
SECTIONS=model,peers
OUT=""
TESTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --skip-install) SKIP_INSTALL=1 ;;
    --skip-tests) SKIP_TESTS=1 ;;
    --skip-bench) SKIP_BENCH=1 ;;
    --skip-torch) SKIP_TORCH=1 ;;
    --allow-software) ALLOW_SOFTWARE=1 ;;
    --sections) shift; SECTIONS=${1:?--sections needs a value, e.g. model,peers,kernels} ;;
    --out) shift; OUT=${1:?--out needs a folder} ;;
    --tests) shift; TESTS=${1:?--tests needs test files, e.g. 'tests/webgpu/conv.test.ts tests/webgpu/matmul.test.ts'} ;;
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 100 ;;
  esac
  shift
done

STAMP=$(date -u +%Y-%m-%dT%H-%MZ)
OUT=${OUT:-bench/results/gpu-$STAMP}
mkdir -p "$OUT" || { echo "run.sh: cannot create $OUT" >&2; exit 100; }
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/run.log") 2>&1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

FAILED=0
: >"$OUT/summary.txt"
# record NAME STATUS [NOTE]: one line of summary.txt; a non-zero status counts as a failure.
record() {
  local name=$1 status=$2 note=${3:-}
  printf '%-10s %s%s\n' "$name" "$([ "$status" = 0 ] && echo ok || echo "FAILED ($status)")" "${note:+  $note}" | tee -a "$OUT/summary.txt"
  [ "$status" = 0 ] || FAILED=$((FAILED + 1))
}
say() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

say "results: $OUT"

# ---------------------------------------------------------------- node and npm
say "node and npm"
for d in "${NODE_DIR:-}" "$ROOT/.node"; do
  if [ -n "$d" ] && [ -x "$d/bin/node" ]; then export PATH="$d/bin:$PATH"; break; fi
done
if ! have node || ! have npm; then
  cat <<'EOF'
node/npm not found. Bring Node.js 20 or later for linux-x64, e.g. unpack the official
node-v20.x-linux-x64.tar.xz into .node/ in this repository (so .node/bin/node exists) or set
NODE_DIR to its folder; on Debian/Ubuntu with a network, `apt-get install nodejs npm` or
`bash scripts/setup.sh` also work.
EOF
  record node 3 "node/npm missing"
  exit "$FAILED"
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "node $(node --version) is too old: this package needs node >= 20 (see NODE_DIR above)."
  record node 3 "node $(node --version) < 20"
  exit "$FAILED"
fi
record node 0 "node $(node --version), npm $(npm --version)"

# ---------------------------------------------------------------- dependencies
say "dependencies"
if [ "$SKIP_INSTALL" = 1 ]; then
  record install 0 "skipped (--skip-install)"
elif [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] && [ -d node_modules/webgpu ]; then
  record install 0 "node_modules already installed from package-lock.json"
else
  npm ci 2>&1 | tee "$OUT/npm-ci.log"
  st=${PIPESTATUS[0]}
  [ "$st" = 0 ] || echo "npm ci failed. Without a registry, copy node_modules from a linux-x64 machine where 'npm ci' ran on this package-lock.json, then rerun with --skip-install."
  record install "$st" "npm ci"
  [ "$st" = 0 ] || exit "$FAILED"
fi

# ---------------------------------------------------------------- system, GPU, Vulkan
say "system"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "uname: $(uname -a)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //') x $(nproc 2>/dev/null)"
  echo "memory: $(grep MemTotal /proc/meminfo 2>/dev/null | awk '{printf "%.1f GiB", $2 / 1048576}')"
  echo "node: $(node --version), npm: $(npm --version)"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
} | tee "$OUT/system.txt"

if have nvidia-smi; then
  { nvidia-smi; echo; nvidia-smi -q; } >"$OUT/nvidia-smi.txt" 2>&1
  record nvidia-smi $? "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
else
  echo "nvidia-smi not found: no NVIDIA driver on this machine?" | tee "$OUT/nvidia-smi.txt"
  record nvidia-smi 1 "not found"
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  debs=$(ls .gl/*.deb 2>/dev/null)
  if [ -n "$debs" ] && [ "$(id -u)" = 0 ]; then
    echo "no Vulkan loader: unpacking .gl/*.deb into /"
    for f in $debs; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "no Vulkan loader (libvulkan.so.1). Install it (Debian/Ubuntu: apt-get install libvulkan1), or put the"
    echo ".deb files of libvulkan1 into .gl/ and rerun as root."
  fi
fi
if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then record vulkan 0 "loader found"; else record vulkan 1 "libvulkan.so.1 missing"; fi

ICD=""
for f in "${VK_DRIVER_FILES:-}" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json /usr/local/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
  if [ -n "$f" ] && [ -f "$f" ]; then ICD=$f; break; fi
done
if [ -n "$ICD" ]; then
  # Only this driver is loaded: Dawn cannot pick lavapipe or another software adapter.
  export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD
  egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
  echo "Vulkan ICD: $ICD" | tee -a "$OUT/system.txt"
  cp "$ICD" "$OUT/" 2>/dev/null
  record icd 0 "$ICD"
else
  echo "no NVIDIA Vulkan ICD (nvidia_icd.json) found; set VK_DRIVER_FILES to it. Continuing with the loader's default drivers."
  record icd 1 "nvidia_icd.json not found"
fi

if have vulkaninfo; then
  vulkaninfo --summary >"$OUT/vulkaninfo.txt" 2>&1
  record vulkaninfo $?
else
  echo "vulkaninfo not installed (Debian/Ubuntu package vulkan-tools)" | tee "$OUT/vulkaninfo.txt"
fi

say "WebGPU adapter (Dawn)"
aargs=()
[ "$ALLOW_SOFTWARE" = 1 ] && aargs+=(--allow-software)
npx tsx bench/gpu/adapter.ts "${aargs[@]}" >"$OUT/adapter.json"
st=$?
cat "$OUT/adapter.json"
# shellcheck disable=SC2016 # a JavaScript template string, not a shell expansion
record adapter "$st" "$(node -e 'try{const a=require(process.argv[1]);console.log(`${a.vendor} ${a.device} ${a.description}${a.isSoftware?" (software)":""}`)}catch{}' "$OUT/adapter.json")"
if [ "$st" != 0 ]; then
  echo "No hardware WebGPU adapter: the tests and the bench would measure the wrong device. Stopping."
  exit "$FAILED"
fi

# ---------------------------------------------------------------- Python with torch
PY=""
for p in "${RESEMOTENET_PYTHON:-}" python3 /usr/bin/python3; do
  if [ -n "$p" ] && "$p" -c 'import numpy, torch' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
  echo "python: $("$PY" -c 'import sys, torch; print(sys.executable, sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())')" | tee -a "$OUT/system.txt"
else
  echo "python: none with torch and numpy (set RESEMOTENET_PYTHON); the PyTorch peer is skipped" | tee -a "$OUT/system.txt"
fi

# ---------------------------------------------------------------- WebGPU cross-check tests
if [ "$SKIP_TESTS" = 1 ]; then
  record tests 0 "skipped (--skip-tests)"
else
  say "WebGPU cross-check tests"
  if [ -n "$TESTS" ]; then
    read -r -a FILES <<<"${TESTS//,/ }"
  else
    mapfile -t FILES < <(
      {
        [ -d tests/kernels ] && find tests/kernels -name '*.test.ts'
        find tests/webgpu -name '*.test.ts' 2>/dev/null
        grep -rlE "setupWebGPU|gpuAvailable|helpers/devices|TRAIN_DEVICES|'webgpu'" tests --include='*.test.ts' 2>/dev/null
      } | grep -vE '^tests/(browser|browser_entry|demo|package|package_types)\.test\.ts$' | sort -u
    )
  fi
  echo "${#FILES[@]} test files: ${FILES[*]}"
  CI=true npx vitest run "${FILES[@]}" --reporter=default --reporter=json --outputFile.json="$OUT/tests.json" 2>&1 | tee "$OUT/tests.log"
  st=${PIPESTATUS[0]}
  record tests "$st" "${#FILES[@]} files; $(sed 's/\x1b\[[0-9;]*m//g' "$OUT/tests.log" | grep -E '^ *Tests ' | tail -1 | sed 's/^ *//')"
fi

# ---------------------------------------------------------------- the model bench with every peer
if [ "$SKIP_BENCH" = 1 ]; then
  record bench 0 "skipped (--skip-bench)"
else
  say "bench: --only $SECTIONS"
  args=(--only "$SECTIONS" --json "$OUT/bench.json")
  [ "$QUICK" = 1 ] && args+=(--quick)
  if [ -z "$PY" ] || [ "$SKIP_TORCH" = 1 ]; then
    args+=(--no-torch)
  else
    args+=(--python "$PY" --torch-device "$("$PY" -c 'import torch; print("cpu,cuda" if torch.cuda.is_available() else "cpu")')")
  fi
  npx tsx bench/run.ts "${args[@]}" 2>&1 | tee "$OUT/bench.log"
  record bench "${PIPESTATUS[0]}" "npm run bench -- ${args[*]}"
fi

# ---------------------------------------------------------------- PyTorch on CUDA, on its own
if [ "$SKIP_TORCH" = 1 ]; then
  record torch-cuda 0 "skipped (--skip-torch)"
elif [ -z "$PY" ]; then
  record torch-cuda 1 "no Python with torch (set RESEMOTENET_PYTHON)"
else
  say "PyTorch on CUDA: bench/torch_model.py --device cuda"
  targs=(--device cuda)
  tiny='train:1/16:16:2,infer:1/16:16:1,infer:1/16:16:2'
  [ "$QUICK" = 1 ] && targs+=(--configs "$tiny" --runs 3)
  PYTHONUNBUFFERED=1 "$PY" bench/torch_model.py "${targs[@]}" >"$OUT/torch-cuda.json" 2> >(tee "$OUT/torch-cuda.log" >&2)
  record torch-cuda $? "$PY bench/torch_model.py ${targs[*]}"
fi

say "summary ($OUT)"
cat "$OUT/summary.txt"
ls -l "$OUT"
exit "$FAILED"
