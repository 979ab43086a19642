// google.protobuf.Struct (template data) from plain JSON values, as proto-loader objects.
import type { Struct } from './generated/google/protobuf/Struct';
import type { Value } from './generated/google/protobuf/Value';

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** `{Name: 'Ada', Lines: [{Qty: 2}]}` as a google.protobuf.Struct, for template data. */
export function toStruct(data: { [key: string]: JsonValue }): Struct {
  return {
    fields: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, toValue(value)])),
  };
}

function toValue(value: JsonValue): Value {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  return { structValue: toStruct(value) };
}
