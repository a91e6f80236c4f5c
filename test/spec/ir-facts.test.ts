/**
 * The generator's IR of our documents against the CAMARA upstream facts (spec/upstream): every
 * operation and callback the parser keeps, with its operationId, parameters by location, request
 * body, responses with their headers and media types, and scopes, written as the surface keys of
 * test/spec/surface.ts, equals upstream's except for the keys ERRATA.md lists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiDocument, Operation } from '../../generator/src/ir/types.js';
import { parseDocument } from '../../generator/src/parse/index.js';
import { readFacts, surfaceOfFacts, UPSTREAM_DOCUMENTS } from '../../scripts/upstream-facts.js';
import { repoRoot } from '../support/typecheck.js';
import { canonical, parseErrata, type Surface } from './surface.js';

/** The facets the IR carries of an operation, as surface keys. */
const IR_FACETS = new Set(['present', 'operationId', 'required', 'scopes', 'allowed']);

/** Whether a surface key is one the IR can tell: an operation's facet outside its schemas. */
function isIrKey(key: string): boolean {
  const facet = key.slice(key.lastIndexOf(':') + 1);
  const location = key.slice(0, key.lastIndexOf(':'));
  return (
    (key.startsWith('path:') || key.startsWith('callback:')) &&
    IR_FACETS.has(facet) &&
    !location.includes('/schema')
  );
}

/** Adds one operation's facets to `out` under `loc`, keyed as test/spec/surface.ts keys them. */
function operationFacets(op: Operation, loc: string, out: Surface): void {
  const set = (key: string, value: unknown) => out.set(key, canonical(value));
  set(`${loc}:present`, true);
  if (op.operationId !== undefined) set(`${loc}:operationId`, op.operationId);
  for (const params of Object.values(op.parameters)) {
    for (const p of params) {
      const name = p.in === 'header' ? p.name.toLowerCase() : p.name;
      set(`${loc}/parameters/${p.in}/${name}:required`, p.required);
    }
  }
  if (op.requestBody) {
    set(`${loc}/requestBody:required`, op.requestBody.required);
    for (const media of op.requestBody.content)
      set(`${loc}/requestBody/content/${media.mediaType}:present`, true);
  }
  for (const response of op.responses) {
    const rloc = `${loc}/responses/${response.status}`;
    set(`${rloc}:present`, true);
    for (const header of response.headers)
      set(`${rloc}/headers/${header.name.toLowerCase()}:required`, header.required);
    for (const media of response.content) set(`${rloc}/content/${media.mediaType}:present`, true);
  }
  const seen = new Map<string, number>();
  for (const requirement of op.security) {
    const names = requirement.schemes.map((s) => s.name).sort();
    const base = names.length === 0 ? '(none)' : names.join('+');
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const sloc = `${loc}/security/${n === 1 ? base : `${base}~${n}`}`;
    if (names.length === 0) set(`${sloc}:allowed`, true);
    for (const scheme of requirement.schemes) {
      set(
        names.length === 1 ? `${sloc}:scopes` : `${sloc}/${scheme.name}:scopes`,
        [...new Set(scheme.scopes)].sort(),
      );
    }
  }
}

function irSurface(ir: ApiDocument): Surface {
  const out: Surface = new Map();
  for (const op of ir.operations) operationFacets(op, `path:${op.path}/${op.method}`, out);
  for (const cb of ir.callbacks) {
    operationFacets(cb, `callback:${cb.parentOperationId}/${cb.name}/${cb.expression}/${cb.method}`, out);
  }
  return out;
}

const errata = parseErrata(readFileSync(join(repoRoot, 'spec/ERRATA.md'), 'utf8'));

describe.each(UPSTREAM_DOCUMENTS)('the IR of our %s against the upstream facts', (doc) => {
  it('has upstream operations, parameters, bodies, responses, headers and scopes, except the errata', async () => {
    const { ir } = await parseDocument(join(repoRoot, `spec/${doc}.yaml`));
    const ours = irSurface(ir);
    const upstream = new Map([...surfaceOfFacts(readFacts(doc))].filter(([key]) => isIrKey(key)));
    expect(upstream.size).toBeGreaterThan(50);
    const keys = [...new Set([...ours.keys(), ...upstream.keys()])].sort();
    const differences = keys.filter((k) => ours.get(k) !== upstream.get(k));
    const listed = [...(errata.get(doc) ?? [])].filter(isIrKey);
    expect({
      unexpected: differences
        .filter((k) => !listed.includes(k))
        .map((k) => `${k}: ${upstream.get(k) ?? '(absent)'} -> ${ours.get(k) ?? '(absent)'}`),
      stale: listed.filter((k) => !differences.includes(k)),
    }).toEqual({ unexpected: [], stale: [] });
  });
});
