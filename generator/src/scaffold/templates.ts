import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * The scaffold templates: the copy packed into the `telegate` package
 * (`<package>/templates/`), else `templates/` at the repository root — the
 * same relative paths from `src/scaffold` and `dist/scaffold`.
 */
export const TEMPLATES_DIR =
  [new URL('../../templates/', import.meta.url), new URL('../../../templates/', import.meta.url)].find(
    (url) => existsSync(url),
  ) ?? new URL('../../../templates/', import.meta.url);

/** Reads `templates/<name>` and replaces every `{{key}}`; a placeholder without a value is an error. */
export async function renderTemplate(name: string, values: Record<string, string>): Promise<string> {
  const text = await readFile(new URL(name, TEMPLATES_DIR), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return value;
  });
}
