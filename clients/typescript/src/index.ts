export { ErpmailClient } from './client';
export type {
  CallOptions,
  ErpmailClientOptions,
  RetryOptions,
  Service,
  TlsOptions,
} from './client';
export { decodeError, isServiceError } from './errors';
export type {
  ErpmailErrorDetails,
  FieldViolation,
  PreconditionViolation,
  ResourceInfo,
} from './errors';
export { defaultProtosDir, loadErpmailPackage, LOADER_OPTIONS } from './protos';
export { toStruct } from './struct';
export type { JsonValue } from './struct';
