#!/usr/bin/env node
// Generates TypeScript types for every erpmail proto into src/generated (gitignored). The options
// must match the loader options in src/protos.ts, or the types would describe other objects.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const protos = path.resolve(root, process.env.ERPMAIL_PROTOS_DIR || '../../protos');
const out = path.join(root, 'src', 'generated');
const files = fs
  .readdirSync(path.join(protos, 'erpmail', 'v1'))
  .filter((name) => name.endsWith('.proto'))
  .sort()
  .map((name) => `erpmail/v1/${name}`);
if (files.length === 0) {
  console.error(`no .proto files in ${protos}/erpmail/v1`);
  process.exit(1);
}
fs.rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js'),
    ...files,
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--includeComments',
    '--grpcLib=@grpc/grpc-js',
    `--outDir=${out}`,
    // Last: -I takes every argument after it.
    '-I',
    protos,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
