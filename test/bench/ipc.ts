import { type ChildProcess, fork } from 'node:child_process';
import { repoRoot } from './util.ts';

/**
 * A child process of a benchmark taking requests over IPC, answered by id (`answerRequests` in
 * ipc-child.ts is the child's side): the SIP bench's application and gateway, the media bench's relays.
 * A message without an id is the child's first, saying it is ready.
 */
export class IpcProcess<Request extends { kind: string }> {
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  readonly ready: Promise<Record<string, unknown>>;

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
    readonly exitRequest: Request,
    /** How long a request may go unanswered before it fails (default: no limit). */
    readonly timeoutMs?: number,
  ) {
    let ready: (message: Record<string, unknown>) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      ready = resolve;
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    });
    this.ready.catch(() => {});
    child.on('message', (raw) => {
      const answer = raw as { requestId?: number; ok: boolean; result?: unknown; error?: string };
      if (answer.requestId === undefined) return ready(raw as Record<string, unknown>);
      const pending = this.#pending.get(answer.requestId);
      this.#pending.delete(answer.requestId);
      if (answer.ok) pending?.resolve(answer.result);
      else pending?.reject(new Error(`${name}: ${answer.error}`));
    });
    child.on('exit', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`${name} exited`));
      this.#pending.clear();
    });
  }

  static fork<Request extends { kind: string }>(
    name: string,
    script: string,
    options: {
      args?: string[];
      execArgv: string[];
      env?: NodeJS.ProcessEnv;
      /** Whether the child's stdout is dropped (its stderr always shows). */
      quiet: boolean;
      exitRequest: Request;
      timeoutMs?: number;
    },
  ): IpcProcess<Request> {
    const child = fork(script, options.args ?? [], {
      cwd: repoRoot,
      execArgv: options.execArgv,
      stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit', 'ipc'],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    return new IpcProcess(child, name, options.exitRequest, options.timeoutMs);
  }

  request<T>(message: Request): Promise<T> {
    const requestId = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        this.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#pending.delete(requestId);
              reject(new Error(`${this.name} did not answer ${message.kind} in ${this.timeoutMs! / 1000} s`));
            }, this.timeoutMs);
      const settle = () => clearTimeout(timer);
      this.#pending.set(requestId, {
        resolve: (value) => {
          settle();
          (resolve as (v: unknown) => void)(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.child.send({ ...message, requestId });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.request(this.exitRequest).catch(() => {});
    await exited;
    clearTimeout(timer);
  }
}
