// The real hub-loading code against a local server in the Hugging Face URL layout
// ({model}/resolve/{revision}/{file}), since no hub can be reached from here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { resolveModel } from '../src/model/model-files.js';
import { TextEncoder } from '../src/model/encoders.js';
import { models, tempDir } from './support.js';

function serveHub(repos: Record<string, string>): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const match = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    const root = match && repos[match[1]];
    const file = root && normalize(join(root, match[2]));
    if (!file || !file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests })),
  );
}

test('a hub model is downloaded once into the cache, then used offline', async (t) => {
  const cacheDir = tempDir(t);
  const hub = await serveHub({ 'picsift-test/tiny-clip': models.tinyClip });
  let model;
  try {
    model = await resolveModel({ id: 'picsift-test/tiny-clip', dtype: 'fp32' }, { cacheDir, endpoint: hub.url });
  } finally {
    hub.server.close();
  }
  assert.equal(model.dir, join(cacheDir, 'picsift-test', 'tiny-clip'));
  for (const f of ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx']) {
    assert.ok(existsSync(join(model.dir, f)), `${f} is cached`);
    assert.equal(statSync(join(model.dir, f)).size, statSync(join(models.tinyClip, f)).size, `${f} is complete`);
  }
  assert.ok(hub.requests.some((r) => r.includes('/resolve/main/onnx/vision_model.onnx')));

  // The server is gone: the second resolution must come from the cache alone.
  const again = await resolveModel({ id: 'picsift-test/tiny-clip', dtype: 'fp32' }, { cacheDir, endpoint: hub.url });
  assert.equal(again.dir, model.dir);
  const encoder = await TextEncoder.load(again);
  const v = await encoder.encode(['a photo of a dog']);
  assert.equal(v.length, encoder.dims);
  await encoder.close();
});

test('the q8 variant is fetched on its own when asked for', async (t) => {
  const cacheDir = tempDir(t);
  const hub = await serveHub({ 'picsift-test/tiny-clip': models.tinyClip });
  try {
    const model = await resolveModel({ id: 'picsift-test/tiny-clip', dtype: 'q8' }, { cacheDir, endpoint: hub.url });
    assert.ok(model.visionPath.endsWith('onnx/vision_model_quantized.onnx'));
    assert.ok(existsSync(model.visionPath));
  } finally {
    hub.server.close();
  }
});

test('an unknown hub model fails with a message naming it', async (t) => {
  const cacheDir = tempDir(t);
  const hub = await serveHub({});
  try {
    await assert.rejects(
      resolveModel({ id: 'nobody/no-such-model', dtype: 'fp32' }, { cacheDir, endpoint: hub.url }),
      /nobody\/no-such-model/,
    );
  } finally {
    hub.server.close();
  }
});

test('a SigLIP 2 repository (model_type "siglip") is downloaded the same way and searched offline', async (t) => {
  const cacheDir = tempDir(t);
  const hub = await serveHub({ 'picsift-test/color-siglip-ONNX': models.colorSiglip });
  let model;
  try {
    model = await resolveModel({ id: 'picsift-test/color-siglip-ONNX', dtype: 'q8' }, { cacheDir, endpoint: hub.url });
  } finally {
    hub.server.close();
  }
  assert.ok(hub.requests.some((r) => r.includes('/resolve/main/onnx/text_model_quantized.onnx')));
  assert.ok(hub.requests.some((r) => r.includes('/resolve/main/onnx/vision_model_quantized.onnx')));
  const encoder = await TextEncoder.load(model);
  const [red, hebrewRed] = [await encoder.encode(['red']), await encoder.encode(['אדום'])];
  assert.equal(encoder.dims, 6);
  assert.ok(red[0] > 0.99, `"red" embeds on the red dimension: ${[...red]}`);
  assert.deepEqual([...hebrewRed], [...red]);
  await encoder.close();
});
