// Loads erpmail's protos at run time, with the same options the generated types were made with
// (scripts/gen-types.js): change one and the types lie about the objects.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * camelCase field names (keepCase false), as JavaScript code names things; int64 values as
 * decimal strings (a revision can pass 2^53); enums as their names; unset fields as their
 * defaults; a oneof's set field named in a virtual property (`event: 'change'`).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The repository's protos/ folder, seen from dist/src/ (or src/ under ts-node). */
export function defaultProtosDir(): string {
  const packageRoot = path.resolve(
    __dirname,
    __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..',
  );
  return path.resolve(packageRoot, '..', '..', 'protos');
}

/** Every erpmail/v1/*.proto under `protosDir`, as one grpc-js package object. */
export function loadErpmailPackage(protosDir: string = defaultProtosDir()): grpc.GrpcObject {
  const folder = path.join(protosDir, 'erpmail', 'v1');
  if (!fs.existsSync(folder)) {
    throw new Error(`erpmail protos not found in ${folder}; pass the protosDir option`);
  }
  const files = fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.proto'))
    .sort()
    .map((name) => `erpmail/v1/${name}`);
  const definition = protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [protosDir] });
  return grpc.loadPackageDefinition(definition);
}
