import { relative } from 'node:path';
import { insertedLines, type ScaffoldOptions, type ScaffoldResult, scaffold } from './index.js';

interface ReportIo {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
}

function describe(result: ScaffoldResult, dryRun: boolean, io: ReportIo): void {
  const show = (path: string) => relative(io.cwd, path) || '.';
  const would = dryRun ? 'would ' : '';
  for (const change of result.changes) {
    if (change.action === 'create') {
      io.out(`telegate: ${would}create ${show(change.path)}`);
    } else if (change.action === 'update') {
      io.out(`telegate: ${would}update ${show(change.path)}: add ${change.added.join(', ')}`);
      if (dryRun)
        for (const line of insertedLines(change.previous ?? '', change.contents)) io.out(`+ ${line}`);
    } else {
      io.out(`telegate: unchanged ${show(change.path)}`);
    }
  }
  const generated = result.generated;
  if (generated) {
    const removed =
      generated.removed.length > 0 ? `, ${generated.removed.length} ${dryRun ? 'to remove' : 'removed'}` : '';
    io.out(
      `telegate: ${would}generate ${show(generated.out)}: ${generated.files} files (${generated.changed.length} ${dryRun ? 'to write' : 'written'}${removed})`,
    );
  }
  for (const warning of result.warnings) io.err(`telegate: warning: ${warning}`);
}

/** `telegate scaffold`: runs the scaffolder and prints what it did (or, with `dryRun`, would do). */
export async function runScaffold(options: ScaffoldOptions, io: ReportIo): Promise<number> {
  const result = await scaffold(options);
  describe(result, options.dryRun === true, io);
  return 0;
}
