/**
 * The part of drachtio-srf the adapter uses, typed as it behaves (the
 * package's own declarations are looser than its code). Everything read from
 * these objects comes from the network: strings to parse, never to trust.
 */
import type { EventEmitter } from 'node:events';

export interface DrachtioMessage {
  /** Request method (requests only). */
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  body?: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
}

export interface DrachtioRequest extends DrachtioMessage {
  method: string;
  uri: string;
  body: string;
  /** Sends CANCEL for this INVITE (client side). */
  cancel(callback?: (error: unknown) => void): void;
  on(event: 'cancel', listener: () => void): this;
  on(event: 'response', listener: (response: DrachtioMessage) => void): this;
}

export interface DrachtioResponse {
  send(status: number, reason: string, opts: DrachtioSendOptions, callback?: (error: unknown) => void): void;
  send(status: number, opts?: DrachtioSendOptions, callback?: (error: unknown) => void): void;
}

export interface DrachtioSendOptions {
  headers?: Record<string, string>;
  body?: string;
}

export interface DrachtioDialog extends EventEmitter {
  sip: { callId: string; localTag: string; remoteTag: string };
  local: { sdp: string; contact?: string };
  remote: { sdp: string };
  connected?: boolean;
  destroy(): Promise<unknown>;
  modify(sdp: string): Promise<string>;
}

export interface DrachtioUacOptions {
  headers: Record<string, string>;
  localSdp: string;
  proxy?: string;
  auth?: { username: string; password: string };
}

/** A SipError from drachtio-srf: a final non-2xx answer. */
export interface DrachtioSipError extends Error {
  status: number;
  reason: string;
}

export interface DrachtioSrf extends EventEmitter {
  connect(options: { host: string; port: number; secret: string }): unknown;
  disconnect(): void;
  invite(handler: (req: DrachtioRequest, res: DrachtioResponse) => void): void;
  createUAC(
    uri: string,
    options: DrachtioUacOptions,
    progress: {
      cbRequest: (error: unknown, req: DrachtioRequest) => void;
      cbProvisional: (res: DrachtioMessage) => void;
    },
  ): Promise<DrachtioDialog>;
  createUAS(
    req: DrachtioRequest,
    res: DrachtioResponse,
    options: { localSdp: string; headers?: Record<string, string> },
  ): Promise<DrachtioDialog>;
  request(
    uri: string,
    options: {
      method: string;
      headers: Record<string, string>;
      auth?: { username: string; password: string };
      proxy?: string;
    },
    callback: (error: unknown, req: DrachtioRequest) => void,
  ): unknown;
}

export const isSipError = (error: unknown): error is DrachtioSipError =>
  error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
