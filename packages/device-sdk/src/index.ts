/**
 * A browser device for a telegate gateway: registers, calls, answers, holds
 * and hangs up through the generated `@telegate/webrtc-client`, with the
 * gateway's WebRTC media (RTCPeerConnection, complete SDP, no trickle), and
 * reads the subscriber's own events from the gateway's events bridge
 * (`GET /demo/events`, server-sent events), since the CAMARA events API only
 * pushes to https sinks.
 */
import {
  type CallHandlingClient,
  createCallHandlingClient,
  createRegistrationClient,
  type RegistrationClient,
} from '@telegate/webrtc-client';
import { EventSourceParserStream } from 'eventsource-parser/stream';

/** The statuses of a media session (webrtc-call-handling `SessionStatus`). */
export type CallStatus =
  | 'Initial'
  | 'InProgress'
  | 'Ringing'
  | 'Proceeding'
  | 'Connected'
  | 'Terminated'
  | 'Hold'
  | 'Resume'
  | 'SessionCancelled'
  | 'Declined'
  | 'Failed'
  | 'Waiting'
  | 'NoAnswer'
  | 'NotReachable'
  | 'Busy';

/** Statuses after which a session is over. */
export const FINAL_STATUSES: ReadonlySet<CallStatus> = new Set<CallStatus>([
  'Terminated',
  'SessionCancelled',
  'Declined',
  'Failed',
  'NoAnswer',
  'NotReachable',
  'Busy',
]);

/** One event from the bridge: a CloudEvent as the gateway would post it to a sink. */
export interface DeviceEvent {
  id: string;
  type: string;
  time: string;
  data: {
    mediaSessionId?: string;
    status?: CallStatus;
    originatorAddress?: string;
    receiverAddress?: string;
    offer?: { sdp?: string };
    answer?: { sdp?: string };
    registrationId?: string;
    terminationReason?: string;
    reason?: string;
    [field: string]: unknown;
  };
}

/** A failed API request: the CAMARA `ErrorInfo` the gateway answered with. */
export class DeviceApiError extends Error {
  override name = 'DeviceApiError';
  readonly status: number;
  readonly code: string;
  constructor(operation: string, status: number, body: unknown) {
    const info = body as { code?: string; message?: string } | undefined;
    super(`${operation}: ${status} ${info?.code ?? ''} ${info?.message ?? ''}`.trim());
    this.status = status;
    this.code = info?.code ?? 'UNKNOWN';
  }
}

export interface DeviceOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** An access token of the subscriber (`POST /demo/token` in dev mode). */
  token: string;
  /** The subscriber's E.164 number (the token's). */
  phoneNumber: string;
  /** Stable id of this device (default: a random UUID). */
  deviceId?: string;
  /** Passed to every RTCPeerConnection (default: no ICE servers: the gateway answers with its own candidates). */
  rtcConfiguration?: RTCConfiguration;
  /** Rewrites each local SDP before it is sent (tests drop non-loopback candidates with it). */
  rewriteLocalSdp?: (sdp: string) => string;
  /** Longest wait for ICE gathering before the SDP is sent as it is (default 3000 ms). */
  iceGatheringTimeoutMs?: number;
}

type Listener<T> = (value: T) => void;

/** A minimal typed emitter: listeners by event name, one that throws does not stop the others. */
class Listeners<Events extends object> {
  readonly #map = new Map<keyof Events, Set<Listener<never>>>();
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#map.get(name);
    if (set === undefined) {
      set = new Set();
      this.#map.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }
  protected emit<K extends keyof Events>(name: K, value: Events[K]): void {
    for (const listener of [...(this.#map.get(name) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(value);
      } catch (error) {
        console.error(`telegate device: a ${String(name)} listener failed`, error);
      }
    }
  }
}

export interface CallEvents {
  /** The session's status changed (from the gateway's events or a local action). */
  status: CallStatus;
  /** The far end's audio. */
  remoteStream: MediaStream;
  /** The call is over (`status` is final); its peer connection is closed. */
  ended: CallStatus;
}

/** One media session of this device, outgoing or incoming. */
export class Call extends Listeners<CallEvents> {
  readonly direction: 'outgoing' | 'incoming';
  /** The other party's address (`tel:+…`). */
  readonly remoteAddress: string;
  #mediaSessionId: string | undefined;
  #status: CallStatus;
  #pc: RTCPeerConnection | undefined;
  #remoteStream: MediaStream | undefined;
  readonly #device: Device;
  readonly #offer: string | undefined;

  /** @internal created by `Device.call` and for `session-invitation` events. */
  constructor(
    device: Device,
    init: {
      direction: 'outgoing' | 'incoming';
      remoteAddress: string;
      status: CallStatus;
      mediaSessionId?: string;
      offer?: string;
    },
  ) {
    super();
    this.#device = device;
    this.direction = init.direction;
    this.remoteAddress = init.remoteAddress;
    this.#status = init.status;
    this.#mediaSessionId = init.mediaSessionId;
    this.#offer = init.offer;
  }

  get mediaSessionId(): string | undefined {
    return this.#mediaSessionId;
  }
  get status(): CallStatus {
    return this.#status;
  }
  get remoteStream(): MediaStream | undefined {
    return this.#remoteStream;
  }
  get peerConnection(): RTCPeerConnection | undefined {
    return this.#pc;
  }
  get ended(): boolean {
    return FINAL_STATUSES.has(this.#status);
  }

  /** @internal */
  async start(microphone: MediaStream, receiverAddress: string): Promise<void> {
    const pc = this.#openPeerConnection(microphone);
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await this.#device.completeLocalSdp(pc);
    const { data, error, response } = await this.#device.callHandling.createSession({
      params: { header: { registrationId: this.#device.requireRegistration() } },
      body: {
        originatorAddress: `tel:${this.#device.phoneNumber}`,
        receiverAddress,
        offer: { sdp: offer },
      },
    });
    if (error !== undefined || data === undefined) {
      this.#end('Failed');
      throw new DeviceApiError('createSession', response.status, error);
    }
    this.#mediaSessionId = data.mediaSessionId;
    this.#device.track(this);
  }

  /** Incoming call: answers with `microphone`'s audio (status `Connected`). */
  async answer(microphone: MediaStream): Promise<void> {
    if (this.direction !== 'incoming' || this.#offer === undefined || this.#pc !== undefined) {
      throw new Error('only an unanswered incoming call can be answered');
    }
    const pc = this.#openPeerConnection(microphone);
    await pc.setRemoteDescription({ type: 'offer', sdp: this.#offer });
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = await this.#device.completeLocalSdp(pc);
    await this.#updateStatus('Connected', { answer: { sdp: answer } });
  }

  /** Puts the call on hold (the far end stops hearing this device and is asked to stop sending). */
  async hold(): Promise<void> {
    await this.#updateStatus('Hold');
  }

  async resume(): Promise<void> {
    await this.#updateStatus('Resume');
  }

  /** Ends the call: hangs up, cancels an unanswered outgoing call, or declines an incoming one. */
  async hangUp(): Promise<void> {
    if (this.ended) return;
    const id = this.#mediaSessionId;
    this.#end('Terminated');
    if (id === undefined) return;
    const { error, response } = await this.#device.callHandling.deleteSessionById({
      params: { path: { mediaSessionId: id } },
    });
    // 404: the session ended meanwhile (the far end hung up first).
    if (error !== undefined && response.status !== 404) {
      throw new DeviceApiError('deleteSessionById', response.status, error);
    }
  }

  /** @internal a `session-status` event of this session. */
  async onStatusEvent(event: DeviceEvent): Promise<void> {
    const status = event.data.status;
    const answer = event.data.answer?.sdp;
    if (answer !== undefined && this.#pc?.signalingState === 'have-local-offer') {
      await this.#pc.setRemoteDescription({ type: 'answer', sdp: answer });
    }
    if (status === undefined) return;
    if (FINAL_STATUSES.has(status)) this.#end(status);
    else this.#setStatus(status);
  }

  async #updateStatus(status: CallStatus, extra: { answer?: { sdp: string } } = {}): Promise<void> {
    const id = this.#mediaSessionId;
    if (id === undefined) throw new Error('the call has no media session yet');
    const { data, error, response } = await this.#device.callHandling.updateSessionStatus({
      params: { path: { mediaSessionId: id } },
      body: { status, ...extra },
    });
    if (error !== undefined || data === undefined) {
      throw new DeviceApiError('updateSessionStatus', response.status, error);
    }
    this.#setStatus(data.status as CallStatus);
  }

  #openPeerConnection(microphone: MediaStream): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.#device.rtcConfiguration);
    this.#pc = pc;
    for (const track of microphone.getAudioTracks()) pc.addTrack(track, microphone);
    pc.ontrack = (event) => {
      this.#remoteStream = event.streams[0] ?? new MediaStream([event.track]);
      this.emit('remoteStream', this.#remoteStream);
    };
    return pc;
  }

  #setStatus(status: CallStatus): void {
    if (this.ended || status === this.#status) return;
    this.#status = status;
    this.emit('status', status);
  }

  #end(status: CallStatus): void {
    if (this.ended) return;
    this.#status = status;
    this.#pc?.close();
    this.#device.untrack(this);
    this.emit('status', status);
    this.emit('ended', status);
  }
}

export interface DeviceEvents {
  /** Every event the bridge delivers, as it came. */
  event: DeviceEvent;
  /** An incoming call to answer (`call.answer(stream)`) or decline (`call.hangUp()`). */
  incoming: Call;
  /** The gateway ended this device's registration. */
  unregistered: { registrationId: string; terminationReason: string };
  /** The events bridge connected (`true`) or dropped (`false`). */
  connection: boolean;
}

/** Events of sessions not known yet (their `createSession` is still in flight): kept briefly, bounded. */
const MAX_EARLY_EVENTS = 32;

/** A registered browser device of one subscriber. */
export class Device extends Listeners<DeviceEvents> {
  readonly phoneNumber: string;
  readonly deviceId: string;
  readonly registration: RegistrationClient;
  readonly callHandling: CallHandlingClient;
  readonly rtcConfiguration: RTCConfiguration;
  readonly #options: DeviceOptions;
  readonly #calls = new Map<string, Call>();
  readonly #early: DeviceEvent[] = [];
  #registrationId: string | undefined;
  #events: AbortController | undefined;

  constructor(options: DeviceOptions) {
    super();
    this.#options = options;
    this.phoneNumber = options.phoneNumber;
    this.deviceId = options.deviceId ?? crypto.randomUUID();
    this.rtcConfiguration = options.rtcConfiguration ?? { iceServers: [] };
    const client = { apiRoot: options.gatewayUrl, token: options.token };
    this.registration = createRegistrationClient(client);
    this.callHandling = createCallHandlingClient(client);
  }

  get registrationId(): string | undefined {
    return this.#registrationId;
  }

  /** Opens the events bridge, then registers the device; resolves with the `registrationId`. */
  async register(): Promise<string> {
    await this.connectEvents();
    const { data, error, response } = await this.registration.createRegistration({
      body: { deviceId: this.deviceId },
    });
    if (error !== undefined || data === undefined) {
      throw new DeviceApiError('createRegistration', response.status, error);
    }
    this.#registrationId = data.registrationId;
    return data.registrationId;
  }

  /** Ends the registration (and so this device's calls). */
  async unregister(): Promise<void> {
    const id = this.#registrationId;
    if (id === undefined) return;
    this.#registrationId = undefined;
    const { error, response } = await this.registration.deleteRegistrationById({
      params: { path: { registrationId: id } },
    });
    if (error !== undefined && response.status !== 404) {
      throw new DeviceApiError('deleteRegistrationById', response.status, error);
    }
  }

  /** Places a call to `number` (E.164) with `microphone`'s audio; resolves once the gateway created the session. */
  async call(number: string, microphone: MediaStream): Promise<Call> {
    const receiverAddress = `tel:${number}`;
    const call = new Call(this, { direction: 'outgoing', remoteAddress: receiverAddress, status: 'Initial' });
    await call.start(microphone, receiverAddress);
    return call;
  }

  /** Connects the events bridge (resolves once the gateway accepted the stream); idempotent. */
  async connectEvents(): Promise<void> {
    if (this.#events !== undefined) return;
    const abort = new AbortController();
    this.#events = abort;
    const response = await fetch(new URL('/demo/events', this.#options.gatewayUrl), {
      headers: { authorization: `Bearer ${this.#options.token}`, accept: 'text/event-stream' },
      signal: abort.signal,
    }).catch((error: unknown) => {
      this.#events = undefined;
      throw error;
    });
    if (!response.ok || response.body === null) {
      this.#events = undefined;
      throw new DeviceApiError(
        'events bridge',
        response.status,
        await response.json().catch(() => undefined),
      );
    }
    this.emit('connection', true);
    const reader = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          await this.#onEvent(JSON.parse(value.data) as DeviceEvent);
        }
      } catch {
        // Aborted by `close()` or the connection dropped: reported below.
      } finally {
        if (this.#events === abort) this.#events = undefined;
        this.emit('connection', false);
      }
    })();
  }

  /** Hangs up every call, ends the registration and closes the events bridge. */
  async close(): Promise<void> {
    for (const call of [...this.#calls.values()]) await call.hangUp().catch(() => {});
    await this.unregister().catch(() => {});
    this.#events?.abort();
    this.#events = undefined;
  }

  /** @internal */
  requireRegistration(): string {
    if (this.#registrationId === undefined) throw new Error('register the device first');
    return this.#registrationId;
  }

  /** @internal waits for ICE gathering (complete candidates, no trickle) and returns the local SDP to send. */
  async completeLocalSdp(pc: RTCPeerConnection): Promise<string> {
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const timer = setTimeout(resolve, this.#options.iceGatheringTimeoutMs ?? 3000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState !== 'complete') return;
        clearTimeout(timer);
        resolve();
      });
    });
    const sdp = pc.localDescription?.sdp ?? '';
    return this.#options.rewriteLocalSdp?.(sdp) ?? sdp;
  }

  /** @internal */
  track(call: Call): void {
    const id = call.mediaSessionId;
    if (id === undefined) return;
    this.#calls.set(id, call);
    // Events that arrived while `createSession` was in flight.
    for (const event of this.#early.filter((e) => e.data.mediaSessionId === id)) {
      this.#early.splice(this.#early.indexOf(event), 1);
      void call.onStatusEvent(event);
    }
  }

  /** @internal */
  untrack(call: Call): void {
    if (call.mediaSessionId !== undefined) this.#calls.delete(call.mediaSessionId);
  }

  async #onEvent(event: DeviceEvent): Promise<void> {
    this.emit('event', event);
    const id = event.data.mediaSessionId;
    if (event.type.endsWith('.session-invitation') && id !== undefined) {
      const call = new Call(this, {
        direction: 'incoming',
        remoteAddress: event.data.originatorAddress ?? 'unknown',
        status: event.data.status ?? 'Initial',
        mediaSessionId: id,
        ...(event.data.offer?.sdp === undefined ? {} : { offer: event.data.offer.sdp }),
      });
      this.#calls.set(id, call);
      this.emit('incoming', call);
    } else if (event.type.endsWith('.session-status') && id !== undefined) {
      const call = this.#calls.get(id);
      if (call !== undefined) await call.onStatusEvent(event).catch(() => {});
      else {
        this.#early.push(event);
        if (this.#early.length > MAX_EARLY_EVENTS) this.#early.shift();
      }
    } else if (event.type.endsWith('.registration-ends')) {
      const registrationId = event.data.registrationId ?? '';
      if (registrationId === this.#registrationId) this.#registrationId = undefined;
      this.emit('unregistered', { registrationId, terminationReason: event.data.terminationReason ?? '' });
    }
  }
}
