// The bench model, carried without its weights. clip-vit-b32-arch is CLIP
// ViT-B/32's exact graph with random weights (../shared/tools/make-bench-models,
// Python + torch): 605 MB in fp32 that random numbers keep from compressing, far
// over what a portable copy may weigh (64 MiB). Its speed depends on the graph,
// not on the numbers, so pack-portable.sh carries the graph with every large
// weight tensor moved to ONNX external data, plus a manifest of those tensors
// (offset, length, type, mean and spread), and the machine that runs the check
// writes fresh random weights with the same mean and spread into the external
// data file. No dependency but Node itself on that side.
//
//   node scripts/pack-portable.mjs skeleton SRC_MODEL.onnx DEST_MODEL.onnx   (needs onnx-proto: a devDependency)
//   node scripts/pack-portable.mjs fill-weights MODEL.onnx                     (writes MODEL.onnx.data if missing or stale)
import { Buffer } from 'node:buffer';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import process from 'node:process';

/** Tensors smaller than this stay in the graph with their real values. */
const MIN_EXTERNAL_BYTES = 1024;
/** onnxruntime maps external data page by page: keep every tensor page-aligned. */
const ALIGN = 4096;
/** ONNX TensorProto.DataType values this moves out: FLOAT, UINT8, INT8, FLOAT16. Integer shapes and indices stay. */
const MOVABLE = { 1: 'float32', 2: 'uint8', 3: 'int8', 10: 'float16' };

async function skeleton(src, dest) {
  const { default: onnxProto } = await import('onnx-proto');
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(readFileSync(src));
  const dataFile = `${basename(dest)}.data`;
  const tensors = [];
  let offset = 0;
  for (const t of model.graph.initializer) {
    const kind = MOVABLE[t.dataType];
    if (!kind) continue;
    let bytes = t.rawData && t.rawData.length > 0 ? t.rawData : null;
    if (!bytes && t.dataType === 1 && t.floatData.length > 0) bytes = new Uint8Array(Float32Array.from(t.floatData).buffer);
    if (!bytes || bytes.length < MIN_EXTERNAL_BYTES) continue;
    tensors.push({ name: t.name, kind, offset, length: bytes.length, ...spread(kind, bytes) });
    t.rawData = new Uint8Array(0);
    t.floatData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: dataFile },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
    offset += Math.ceil(bytes.length / ALIGN) * ALIGN;
  }
  writeFileSync(dest, onnx.ModelProto.encode(model).finish());
  writeFileSync(`${dest}.weights.json`, `${JSON.stringify({ dataFile, size: offset, tensors })}\n`);
  process.stdout.write(
    `${dest}: ${tensors.length} weight tensors (${(offset / 2 ** 20).toFixed(0)} MiB) moved to ${dataFile}, written on the target\n`,
  );
}

/** What fill-weights needs to make numbers of the same size: float mean and standard deviation, integer range. */
function spread(kind, bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'float32' || kind === 'float16') {
    const n = kind === 'float32' ? bytes.length / 4 : bytes.length / 2;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const v = kind === 'float32' ? view.getFloat32(i * 4, true) : halfToFloat(view.getUint16(i * 2, true));
      sum += v;
      squares += v * v;
    }
    const mean = sum / n;
    return { mean, std: Math.sqrt(Math.max(0, squares / n - mean * mean)) };
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < bytes.length; i++) {
    const v = kind === 'int8' ? view.getInt8(i) : view.getUint8(i);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function floatToHalf(v) {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >> 16) & 0x8000;
  const exp = ((x >> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | ((x >> 13) & 0x3ff);
}

/**
 * Writes MODEL.onnx.data: every moved tensor filled with uniform random numbers of
 * the recorded mean and standard deviation (floats) or range (integers), from a
 * fixed seed, so every run measures the same model. Skipped when the file exists
 * with the expected size.
 */
function fillWeights(modelPath) {
  const manifest = JSON.parse(readFileSync(`${modelPath}.weights.json`, 'utf8'));
  const dataPath = `${modelPath.slice(0, modelPath.length - basename(modelPath).length)}${manifest.dataFile}`;
  if (existsSync(dataPath) && statSync(dataPath).size === manifest.size) return;
  let seed = 0x9e3779b9;
  const random = () => {
    // xorshift32: plenty for weights whose values do not matter, and fast
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const fd = openSync(dataPath, 'w');
  try {
    for (const t of manifest.tensors) {
      const buffer = Buffer.alloc(t.length);
      if (t.kind === 'float32' || t.kind === 'float16') {
        // Uniform on mean ± √3·std has that mean and standard deviation.
        const half = Math.sqrt(3) * t.std;
        const n = t.kind === 'float32' ? t.length / 4 : t.length / 2;
        for (let i = 0; i < n; i++) {
          const v = t.mean + (random() * 2 - 1) * half;
          if (t.kind === 'float32') buffer.writeFloatLE(v, i * 4);
          else buffer.writeUInt16LE(floatToHalf(v), i * 2);
        }
      } else {
        for (let i = 0; i < t.length; i++) {
          const v = t.min + Math.floor(random() * (t.max - t.min + 1));
          if (t.kind === 'int8') buffer.writeInt8(v, i);
          else buffer.writeUInt8(v, i);
        }
      }
      writeSync(fd, buffer, 0, buffer.length, t.offset);
    }
    // The last tensor's padding, so the size matches the manifest.
    ftruncateSync(fd, manifest.size);
  } finally {
    closeSync(fd);
  }
  process.stdout.write(`${dataPath}: ${manifest.tensors.length} random weight tensors written\n`);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'skeleton' && rest.length === 2) await skeleton(rest[0], rest[1]);
else if (mode === 'fill-weights' && rest.length === 1) fillWeights(rest[0]);
else {
  process.stderr.write('usage: pack-portable.mjs skeleton SRC.onnx DEST.onnx | fill-weights MODEL.onnx\n');
  process.exit(2);
}
