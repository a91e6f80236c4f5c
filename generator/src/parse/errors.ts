/**
 * A problem in an input document. The CLI prints it as one line:
 * `<file>#<pointer>: <message>`.
 */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly detail: string,
  ) {
    super(`${file}#${pointer}: ${detail}`);
  }
}
