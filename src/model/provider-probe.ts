// The child process of probeProvider (execution-provider.ts): opens a one-node
// model (y = x · x) with one execution provider, runs it once, checks the answer
// and prints {"ok": true} or {"ok": false, "message": …} as its last stdout line.
// Its stderr (Dawn's and onnxruntime's own logs) is read by the parent for the
// cause of a failure and never shown.
//
//   node provider-probe.js PROVIDER
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

// 'error', so that onnxruntime logs which library a provider failed to load.
ort.env.logLevel = 'error';

/** Protocol-buffer encoding, just enough for a tiny ONNX ModelProto. */
function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}
const int = (field: number, value: number): number[] => [...varint(field << 3), ...varint(value)];
const bytesField = (field: number, data: number[]): number[] => [...varint((field << 3) | 2), ...varint(data.length), ...data];
const str = (field: number, text: string): number[] => bytesField(field, [...Buffer.from(text, 'utf8')]);

/** ValueInfoProto for a float tensor of shape [1, 4]. */
function floatTensor(name: string): number[] {
  const dim = (size: number): number[] => bytesField(1, int(1, size)); // TensorShapeProto.dim { dim_value }
  const shape = bytesField(2, [...dim(1), ...dim(4)]); // TypeProto.Tensor.shape
  const tensorType = bytesField(1, [...int(1, 1), ...shape]); // TypeProto.tensor_type { elem_type: FLOAT }
  return [...str(1, name), ...bytesField(2, tensorType)]; // ValueInfoProto { name, type }
}

/** ModelProto (IR 8, opset 17): graph "probe" with one Mul node, y = x · x. */
export function probeModel(): Uint8Array {
  const node = [...str(1, 'x'), ...str(1, 'x'), ...str(2, 'y'), ...str(3, 'square'), ...str(4, 'Mul')];
  const graph = [...bytesField(1, node), ...str(2, 'probe'), ...bytesField(11, floatTensor('x')), ...bytesField(12, floatTensor('y'))];
  const opset = [...str(1, ''), ...int(2, 17)];
  return Uint8Array.from([...int(1, 8), ...str(2, 'picsift'), ...bytesField(7, graph), ...bytesField(8, opset)]);
}

async function main(provider: string): Promise<void> {
  const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [provider], intraOpNumThreads: 1 });
  const input = Float32Array.from([1, 2, 3, 4]);
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 4]) });
  const y = out.y?.data as Float32Array | undefined;
  if (!y || y.length !== 4 || y.some((v, i) => v !== input[i] * input[i])) {
    throw new Error(`the ${provider} provider computed a wrong result (${y ? [...y].join(', ') : 'no output'})`);
  }
  await session.release();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let reply: { ok: boolean; message?: string };
  try {
    await main(process.argv[2] ?? 'cpu');
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, message: (err as Error).message };
  }
  // Exit once written: a GPU runtime's threads may otherwise keep the process alive.
  process.stdout.write(`${JSON.stringify(reply)}\n`, () => process.exit(0));
}
