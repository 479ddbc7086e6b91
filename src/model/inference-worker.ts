// The worker side of InferenceThread: owns one OnnxSession and runs requests one
// at a time, in the order they arrive. Its own event loop is the one that stops
// during inference, not the main thread's.
import { parentPort, workerData } from 'node:worker_threads';
import type { Provider } from './execution-provider.js';
import { OnnxSession, type InputTensor, type SessionOptions } from './onnx-session.js';

export interface WorkerInit {
  path: string;
  options: SessionOptions;
}

export type WorkerRequest = { kind: 'run'; id: number; feeds: Record<string, InputTensor>; outputName: string } | { kind: 'close' };

/** What a prestarted thread (started without WorkerInit) receives first: the model to open. */
export type WorkerOpen = { kind: 'open' } & WorkerInit;

export type WorkerReply =
  | { kind: 'ready'; provider: Provider; inputNames: string[]; outputWidths: Record<string, number | undefined> }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; data: Float32Array; dims: number[] }
  | { kind: 'error'; id: number; message: string };

const port = parentPort!;
// A prestarted thread has loaded onnxruntime (this module's imports) before its model was known.
const init = (workerData as WorkerInit | null) ?? (await new Promise<WorkerOpen>((resolve) => port.once('message', resolve)));

try {
  const session = await OnnxSession.open(init.path, init.options);
  port.on('message', (request: WorkerRequest) => {
    if (request.kind === 'close') {
      void session.close().finally(() => port.close());
      return;
    }
    session
      .run(request.feeds, request.outputName)
      .then((out) => {
        const reply: WorkerReply = { kind: 'result', id: request.id, data: out.data, dims: [...out.dims] };
        try {
          // The output buffer is onnxruntime's own copy for this run: hand it over, do not copy it again.
          port.postMessage(reply, [out.data.buffer as ArrayBuffer]);
        } catch {
          port.postMessage(reply); // a buffer that cannot be transferred is copied
        }
      })
      // Every request gets an answer, or the pipeline would wait forever.
      .catch((err: unknown) => port.postMessage({ kind: 'error', id: request.id, message: (err as Error).message } satisfies WorkerReply));
  });
  port.postMessage({
    kind: 'ready',
    provider: session.provider,
    inputNames: [...session.inputNames],
    outputWidths: session.outputWidths(),
  } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ kind: 'failed', message: (err as Error).message } satisfies WorkerReply);
}
