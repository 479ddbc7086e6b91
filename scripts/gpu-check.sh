#!/usr/bin/env bash
# The GPU check: on a Linux x64 machine with an NVIDIA GPU (Vulkan for WebGPU),
# without network access, runs bench:embed on the bench model over the shared
# photos with --device webgpu, with --device cuda when onnxruntime-node's CUDA
# add-on is installed, and with --device cpu for comparison, then prints one JSON
# object: per device the provider that ran, model-only and pipeline photos/s, and
# decode photos/s by thread count; plus what the machine has.
#
#   scripts/gpu-check.sh [PORTABLE_ARCHIVE]
#
# It runs from either
#   - a repository with node_modules installed, dist/ built and .models/ made
#     (npm test makes .models/clip-vit-b32-arch), with node on PATH; or
#   - the archive scripts/pack-portable.sh writes (dist/portable/picsift-portable-linux-x64.tar.gz,
#     or PORTABLE_ARCHIVE): unpacked into a temporary folder, it brings its own
#     Node binary, Linux x64 native modules and the bench model's graph, whose
#     random weights are written on this machine (nothing is downloaded).
#
# Environment: PICSIFT_PHOTOS (default: shared/data/photos here or beside the
# repository), GPU_CHECK_OUT (default: a temporary folder; the JSON is also
# written there as gpu-check.json), GPU_CHECK_DEVICES (default: "webgpu cuda cpu"),
# GPU_CHECK_REPEAT (copies of each photo in the pipeline phase; default 12, i.e.
# 1,032 photos), GPU_CHECK_COUNT (images through the model alone; default 4096).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
archive=${1:-$here/dist/portable/picsift-portable-linux-x64.tar.gz}
out=${GPU_CHECK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/picsift-gpu-check.XXXXXX")}
mkdir -p "$out"
say() { printf 'gpu-check: %s\n' "$*" >&2; }
# The line of a failed run's stderr that says why: its first error line, else its last line.
first_error() { { grep -m1 -E '^(picsift|bench:embed|[A-Za-z]*Error)[: \[]' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -1; } 2>/dev/null || true; }

# --- the photos
photos=${PICSIFT_PHOTOS:-}
for candidate in "$here/shared/data/photos" "$here/../shared/data/photos" "${PICSIFT_SHARED:-/nonexistent}/data/photos"; do
  [ -z "$photos" ] && [ -d "$candidate" ] && photos=$candidate
done
[ -n "$photos" ] || { say "no photos: set PICSIFT_PHOTOS or put shared/ beside the repository"; exit 1; }

# --- the application: this repository, or the portable copy
app=$here
if [ ! -f "$app/dist/bench/embed.js" ] || [ ! -d "$app/node_modules/onnxruntime-node" ]; then
  [ -f "$archive" ] || { say "no dist/bench/embed.js or node_modules here, and no portable archive at $archive (make one with scripts/pack-portable.sh)"; exit 1; }
  say "unpacking $archive"
  tar -xzf "$archive" -C "$out"
  app=$out/picsift
fi

# --- Node: the portable copy's own, else the one on PATH (20 or later)
if [ -x "$app/node/bin/node" ]; then
  node=$app/node/bin/node
elif command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  node=$(command -v node)
else
  say "Node.js 20 or later is needed and none was found (the portable archive brings one)"
  exit 1
fi

# --- the bench model: the repository's, or the portable graph with weights written here
model=$app/.models/clip-vit-b32-arch
for graph in "$model"/onnx/*.onnx; do
  if [ -f "$graph.weights.json" ]; then "$node" "$app/scripts/pack-portable.mjs" fill-weights "$graph" >&2; fi
done
[ -f "$model/onnx/vision_model.onnx" ] || { say "no bench model at $model (npm test makes it)"; exit 1; }

# --- what the machine has
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true; } >"$out/gpu.txt"
{ vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName' || true; } >"$out/vulkan.txt"
cuda_addon=$(cd "$app" && "$node" -e '
  import("./dist/src/model/execution-provider.js").then((m) => {
    const cuda = m.availableProviders().find((p) => p.name === "cuda");
    process.stdout.write(cuda && cuda.installed ? "yes" : "no");
  })')

# --- the runs: DEVICE.json on success, DEVICE.failed (one line) otherwise
devices=${GPU_CHECK_DEVICES:-webgpu cuda cpu}
for device in $devices; do
  if [ "$device" = cuda ] && [ "$cuda_addon" != yes ]; then
    say "cuda: skipped, onnxruntime-node's CUDA add-on is not installed"
    echo "skipped: onnxruntime-node's CUDA add-on is not installed" >"$out/$device.failed"
    continue
  fi
  args=(--model "$model" --images "$photos" --device "$device" --decode-threads 1,2,4,8,16 --out "$out/$device.json")
  if [ "$device" = cpu ]; then
    args+=(--repeat 2 --count 512) # the CPU is 10–50× slower than a GPU: keep its share of the check short
  else
    args+=(--repeat "${GPU_CHECK_REPEAT:-12}" --count "${GPU_CHECK_COUNT:-4096}")
  fi
  say "$device: node dist/bench/embed.js ${args[*]}"
  if ! (cd "$app" && timeout 600 "$node" dist/bench/embed.js "${args[@]}" >"$out/$device.stdout" 2>"$out/$device.stderr"); then
    rm -f "$out/$device.json"
    first_error "$out/$device.stderr" >"$out/$device.failed"
    say "$device: failed: $(cat "$out/$device.failed")"
  fi
done

# --- decoding alone, on the main thread and in worker threads, to choose the pipeline's design on many cores
for workers in 0 auto all; do
  say "decode: node dist/bench/decode.js --workers $workers"
  (cd "$app" && timeout 300 "$node" dist/bench/decode.js --images "$photos" --model "$model" --decode-threads 1,2,4,8,16 \
    --workers "$workers" --out "$out/decode-workers-$workers.json" >/dev/null 2>"$out/decode-workers-$workers.stderr") ||
    say "decode --workers $workers: failed: $(first_error "$out/decode-workers-$workers.stderr")"
done

# --- one JSON object
OUT="$out" DEVICES="$devices" CUDA_ADDON="$cuda_addon" "$node" -e '
  const { existsSync, readFileSync, writeFileSync } = require("node:fs");
  const { cpus } = require("node:os");
  const out = process.env.OUT;
  const lines = (f) => (existsSync(`${out}/${f}`) ? readFileSync(`${out}/${f}`, "utf8").split("\n").map((l) => l.trim()).filter(Boolean) : []);
  const runs = {};
  for (const device of process.env.DEVICES.split(/\s+/).filter(Boolean)) {
    if (existsSync(`${out}/${device}.json`)) runs[device] = JSON.parse(readFileSync(`${out}/${device}.json`, "utf8"));
    else runs[device] = { failed: lines(`${device}.failed`)[0] ?? "no result" };
  }
  const decode_modes = {};
  for (const workers of ["0", "auto", "all"]) {
    const f = `${out}/decode-workers-${workers}.json`;
    if (existsSync(f)) decode_modes[`workers_${workers}`] = JSON.parse(readFileSync(f, "utf8"));
  }
  const result = {
    machine: { gpus: lines("gpu.txt"), vulkan: lines("vulkan.txt"), cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, cuda_addon: process.env.CUDA_ADDON === "yes" },
    runs,
    decode_modes,
  };
  writeFileSync(`${out}/gpu-check.json`, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
'
say "written to $out/gpu-check.json"
