/**
 * What the three specs document, read through the generator's own parser
 * (`parseDocument` → IR): every operation with every response status and,
 * for error responses, every `ErrorInfo.code` the schema enumerates.
 */
import { join } from 'node:path';
import type { ApiDocument, Operation, Schema } from '../../../generator/src/ir/types.js';
import { parseDocument } from '../../../generator/src/parse/index.js';

export const repoRoot = new URL('../../../', import.meta.url).pathname;

export const API_NAMES = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;
export type ApiName = (typeof API_NAMES)[number];

/** One documented outcome: `op status` for a success, `op status code` for an error. */
export interface DocumentedOutcome {
  api: ApiName;
  operationId: string;
  method: string;
  path: string;
  status: number;
  /** The `ErrorInfo.code`, for error responses. */
  code?: string;
  /** `createRegistration 400 OUT_OF_RANGE`, `createRegistration 201`. */
  key: string;
}

export const outcomeKey = (operationId: string, status: number, code?: string): string =>
  code === undefined ? `${operationId} ${status}` : `${operationId} ${status} ${code}`;

/** The `code` enum of an `ErrorInfo` response schema (`allOf: [ErrorInfo, {properties: {code: {enum}}}]`). */
function codesOf(schema: Schema | undefined): string[] | undefined {
  if (schema === undefined) return undefined;
  const parts = Array.isArray(schema.allOf) ? (schema.allOf as Schema[]) : [schema];
  for (const part of parts) {
    const code = (part.properties as Record<string, Schema> | undefined)?.code;
    if (code && Array.isArray(code.enum)) return code.enum as string[];
  }
  return undefined;
}

export interface SpecModel {
  documents: Record<ApiName, ApiDocument>;
  operations: (Operation & { api: ApiName })[];
  outcomes: DocumentedOutcome[];
}

let cached: Promise<SpecModel> | undefined;

export function loadSpecModel(): Promise<SpecModel> {
  cached ??= (async () => {
    const documents = {} as Record<ApiName, ApiDocument>;
    for (const name of API_NAMES) {
      documents[name] = (await parseDocument(join(repoRoot, 'spec', `${name}.yaml`), repoRoot)).ir;
    }
    const operations: SpecModel['operations'] = [];
    const outcomes: DocumentedOutcome[] = [];
    for (const api of API_NAMES) {
      for (const op of documents[api].operations) {
        operations.push({ ...op, api });
        for (const response of op.responses) {
          const status = Number(response.status);
          if (!Number.isInteger(status)) throw new Error(`${op.id}: non-numeric status ${response.status}`);
          const base = { api, operationId: op.id, method: op.method.toUpperCase(), path: op.path, status };
          const codes = status >= 400 ? codesOf(response.content[0]?.schema) : undefined;
          if (status >= 400 && codes === undefined) throw new Error(`${op.id} ${status}: no code enum`);
          if (codes === undefined) outcomes.push({ ...base, key: outcomeKey(op.id, status) });
          else
            for (const code of codes) outcomes.push({ ...base, code, key: outcomeKey(op.id, status, code) });
        }
      }
    }
    return { documents, operations, outcomes };
  })();
  return cached;
}
