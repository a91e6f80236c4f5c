import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import { openapi30 } from './helpers.js';

const ERROR = `content: { application/json: { schema: { $ref: '#/components/schemas/ErrorInfo' } } }`;

const SPEC = openapi30(
  `  /things/{id}:
    get:
      operationId: getThing
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: object, required: [id], properties: { id: { type: string } } } } } }
        '5XX': { description: any server error, ${ERROR} }
  /others/{id}:
    get:
      operationId: getOther
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: string } } } }
        default: { description: anything else, ${ERROR} }`,
  `components:
  schemas:
    ErrorInfo:
      type: object
      required: [status, code, message]
      properties: { status: { type: integer }, code: { type: string }, message: { type: string } }`,
);

/** A consumer's code: the only error answers of each method are `5XX` and `default`, typed ErrorInfo. */
const USAGE = `import { createClient, type components } from './index.js';
type ErrorInfo = components['schemas']['ErrorInfo'];
type IsNever<T> = [T] extends [never] ? true : false;
const client = createClient({ baseUrl: 'http://127.0.0.1:1' });
export async function use(): Promise<ErrorInfo[]> {
  const thing = await client.getThing({ params: { path: { id: 'a' } } });
  const other = await client.getOther({ params: { path: { id: 'a' } } });
  // Not \`never\`: the errors are typed from the 5XX and default responses.
  const thingTyped: IsNever<NonNullable<typeof thing.error>> = false;
  const otherTyped: IsNever<NonNullable<typeof other.error>> = false;
  const errors: ErrorInfo[] = [];
  if (thing.error && thingTyped === otherTyped) errors.push(thing.error);
  if (other.error) errors.push(other.error);
  // @ts-expect-error: an error is not data
  const id: string = thing.error?.id;
  return [...errors, { status: 0, code: id, message: '' }];
}
`;

describe('client error unions', () => {
  it('type the `5XX` and `default` responses of an operation as its error', async () => {
    const out = await repoTempDir('client-errors-');
    const spec = join(out, 'api.yaml');
    await writeFile(spec, SPEC);
    const { files } = await generateFiles({ specs: [spec], out, emit: ['client'] });
    await writeFiles(out, files);
    const usage = join(out, 'usage.ts');
    await writeFile(usage, USAGE);
    expect(typecheck([...files.map((f) => join(out, f.path)), usage])).toEqual([]);
  });
});
