/** Anything the gateway owns and must release on shutdown. */
export interface Closable {
  close(): Promise<void>;
}
