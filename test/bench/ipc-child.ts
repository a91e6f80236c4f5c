/**
 * The child side of a benchmark process's IPC (`IpcProcess` in ipc.ts is the parent side): each request
 * comes with an id and its answer goes back with it, `{ ok: true, result }` or `{ ok: false, error }`;
 * once the `last` kind of request is answered, the channel closes so the process can exit.
 */
export function answerRequests<Request extends { kind: string }>(
  handle: (request: Request) => Promise<unknown>,
  last: Request['kind'],
): void {
  process.on('message', (raw) => {
    const { requestId, ...message } = raw as Request & { requestId: number };
    handle(message as unknown as Request).then(
      (result) => {
        process.send?.({ requestId, ok: true, result });
        if (message.kind === last) process.disconnect();
      },
      (error: unknown) =>
        process.send?.({
          requestId,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  });
}
