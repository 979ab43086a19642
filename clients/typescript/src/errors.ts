// Reads the google.rpc details erpmail puts in `grpc-status-details-bin`. The google/rpc protos
// are not part of erpmail's protos/, so the few messages erpmail sends are embedded here (their
// wire format is frozen by Google's compatibility rules) and decoded with protobufjs, which
// @grpc/proto-loader already depends on: no Python install or large proto bundle needed.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';

const GOOGLE_PROTOBUF = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
`;

const GOOGLE_RPC = `
syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message RetryInfo { google.protobuf.Duration retry_delay = 1; }
message PreconditionFailure {
  message Violation { string type = 1; string subject = 2; string description = 3; }
  repeated Violation violations = 1;
}
message BadRequest {
  message FieldViolation { string field = 1; string description = 2; string reason = 3; }
  repeated FieldViolation field_violations = 1;
}
message ResourceInfo {
  string resource_type = 1; string resource_name = 2; string owner = 3; string description = 4;
}
message RequestInfo { string request_id = 1; string serving_data = 2; }
`;

const root = new protobuf.Root();
protobuf.parse(GOOGLE_PROTOBUF, root);
protobuf.parse(GOOGLE_RPC, root);
const STATUS = root.lookupType('google.rpc.Status');
const DETAIL_TYPES = new Map(
  [
    'ErrorInfo',
    'RetryInfo',
    'PreconditionFailure',
    'BadRequest',
    'ResourceInfo',
    'RequestInfo',
  ].map((name) => [
    `type.googleapis.com/google.rpc.${name}`,
    root.lookupType(`google.rpc.${name}`),
  ]),
);
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  defaults: true,
  arrays: true,
  objects: true,
};

export interface FieldViolation {
  /** The offending field's path, such as `account.outgoing.port`. */
  field: string;
  description: string;
  reason: string;
}

export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

export interface ResourceInfo {
  resourceType: string;
  resourceName: string;
  owner: string;
  description: string;
}

/** A failed call as plain data: the status and every google.rpc detail erpmail sent. */
export interface ErpmailErrorDetails {
  code: grpc.status;
  /** The status's name: `INVALID_ARGUMENT`, `NOT_FOUND`, ... */
  codeName: string;
  message: string;
  fieldViolations: FieldViolation[];
  preconditionViolations: PreconditionViolation[];
  errorInfo?: { reason: string; domain: string; metadata: Record<string, string> };
  resources: ResourceInfo[];
  /** From RetryInfo (RESOURCE_EXHAUSTED): how long to wait before trying again. */
  retryDelayMs?: number;
  requestId?: string;
  /** Type URLs of details this decoder does not know. */
  unknownDetails: string[];
}

/** Whether `error` is a failed gRPC call (a grpc-js ServiceError). */
export function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<grpc.ServiceError>).code === 'number' &&
    (error as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata
  );
}

/**
 * Decodes a failed call's status and its `grpc-status-details-bin` details. Anything that is not
 * a gRPC error is rethrown, so a programming error is not mistaken for a server's answer.
 */
export function decodeError(error: unknown): ErpmailErrorDetails {
  if (!isServiceError(error)) {
    throw error;
  }
  const result: ErpmailErrorDetails = {
    code: error.code,
    codeName: grpc.status[error.code] ?? String(error.code),
    message: error.details,
    fieldViolations: [],
    preconditionViolations: [],
    resources: [],
    unknownDetails: [],
  };
  const [raw] = error.metadata.get('grpc-status-details-bin');
  if (!(raw instanceof Buffer)) {
    return result;
  }
  const status = STATUS.toObject(STATUS.decode(raw), TO_OBJECT) as {
    message: string;
    details: { typeUrl: string; value: Uint8Array }[];
  };
  if (status.message) {
    result.message = status.message;
  }
  for (const detail of status.details) {
    const type = DETAIL_TYPES.get(detail.typeUrl);
    if (type === undefined) {
      result.unknownDetails.push(detail.typeUrl);
      continue;
    }
    const value = type.toObject(type.decode(detail.value), TO_OBJECT);
    addDetail(result, type.name, value);
  }
  return result;
}

function addDetail(result: ErpmailErrorDetails, name: string, value: Record<string, any>): void {
  switch (name) {
    case 'BadRequest':
      result.fieldViolations.push(...(value.fieldViolations as FieldViolation[]));
      break;
    case 'PreconditionFailure':
      result.preconditionViolations.push(...(value.violations as PreconditionViolation[]));
      break;
    case 'ErrorInfo':
      result.errorInfo = {
        reason: value.reason as string,
        domain: value.domain as string,
        metadata: value.metadata as Record<string, string>,
      };
      break;
    case 'ResourceInfo':
      result.resources.push(value as ResourceInfo);
      break;
    case 'RetryInfo': {
      // A RetryInfo without a delay (null, with defaults on) says nothing about when.
      const delay = value.retryDelay as { seconds: string; nanos: number } | null;
      if (delay) {
        result.retryDelayMs = Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6);
      }
      break;
    }
    case 'RequestInfo':
      result.requestId = value.requestId as string;
      break;
  }
}
