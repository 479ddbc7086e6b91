#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm run build`
// (which `npm ci` / `npm install` run through the "prepare" script).
//
// CommonJS on purpose (bin/package.json): libuv's thread pool, which runs file
// reads and sharp's decodes, reads UV_THREADPOOL_SIZE once, when it starts. An ES
// module entry point is itself read through that pool, so by the time its first
// line runs the pool has its 4 threads; a CommonJS entry runs before anything is
// read asynchronously. Measured on Node 20.20: with UV_THREADPOOL_SIZE=8 set in
// an ES module entry the process had 11 threads (the pool kept 4), set here 15
// (the pool had 8). One pool thread per core, never fewer than libuv's 4: the
// same as defaultDecodeThreads() in src/media/decode-threads.ts, which this file
// cannot import without loading sharp (and every command would pay for it). A
// value the user set wins.
'use strict';
const { availableParallelism } = require('node:os');

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

import('../dist/src/cli/main.js');
