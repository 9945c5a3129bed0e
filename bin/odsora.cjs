#!/usr/bin/env node
// `odsora` entry point: runs the bundled CLI, building it first on a fresh checkout.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const cli = join(root, 'out', 'cli', 'odsora.cjs');
if (!existsSync(cli)) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--quiet'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
require(cli);
