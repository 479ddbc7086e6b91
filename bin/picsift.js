#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm run build`
// (which `npm ci` / `npm install` run through the "prepare" script).
import '../dist/src/cli/main.js';
