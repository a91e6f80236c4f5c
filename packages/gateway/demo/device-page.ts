/**
 * The device page's glue: reads the form, calls `@telegate/device-sdk`,
 * shows what happens. Bundled with the SDK into `dist/demo/device-page.js`
 * at build time. `?ice=loopback` drops every ICE candidate not on
 * 127.0.0.1 from the SDP this page sends (for a gateway on loopback, and the
 * browser tests, which send nothing off the machine).
 */
import { type Call, Device, type DeviceEvent } from '@telegate/device-sdk';

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
};

const ui = {
  phone: byId<HTMLInputElement>('phone'),
  microphone: byId<HTMLSelectElement>('microphone'),
  register: byId<HTMLButtonElement>('register'),
  unregister: byId<HTMLButtonElement>('unregister'),
  registrationStatus: byId('registration-status'),
  eventsStatus: byId('events-status'),
  incoming: byId('incoming'),
  incomingFrom: byId('incoming-from'),
  answer: byId<HTMLButtonElement>('answer'),
  decline: byId<HTMLButtonElement>('decline'),
  callee: byId<HTMLInputElement>('callee'),
  call: byId<HTMLButtonElement>('call'),
  hold: byId<HTMLButtonElement>('hold'),
  resume: byId<HTMLButtonElement>('resume'),
  hangUp: byId<HTMLButtonElement>('hangup'),
  callStatus: byId('call-status'),
  callPeer: byId('call-peer'),
  level: byId<HTMLMeterElement>('level'),
  heard: byId('heard'),
  log: byId('log'),
};

const params = new URLSearchParams(location.search);
const loopbackOnly = params.get('ice') === 'loopback';
if (params.get('microphone') === 'tone') ui.microphone.value = 'tone';
const toneFrequency = Number(params.get('tone') ?? 440);

/** Plays the far end: a call has no captions to show, so the element stays out of the layout. */
const remoteAudio = document.createElement('audio');
remoteAudio.autoplay = true;

let device: Device | undefined;
let call: Call | undefined;
let incoming: Call | undefined;
let audio: AudioContext | undefined;
let analyser: AnalyserNode | undefined;

function log(line: string): void {
  const time = new Date().toISOString().slice(11, 23);
  ui.log.textContent = `${time} ${line}\n${ui.log.textContent ?? ''}`.slice(0, 20_000);
}

function audioContext(): AudioContext {
  audio ??= new AudioContext({ sampleRate: 48_000 });
  void audio.resume();
  return audio;
}

/** The selected microphone: the real one, or a WebAudio oscillator (a known tone, for a machine without one). */
async function microphone(): Promise<MediaStream> {
  if (ui.microphone.value !== 'tone')
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const context = audioContext();
  const oscillator = context.createOscillator();
  oscillator.frequency.value = toneFrequency;
  const gain = context.createGain();
  gain.gain.value = 0.3;
  const destination = context.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  return destination.stream;
}

function keepLoopbackCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === '127.0.0.1')
    .join('\r\n');
}

function render(): void {
  const registered = device?.registrationId !== undefined;
  const active = call !== undefined && !call.ended;
  ui.register.disabled = registered;
  ui.unregister.disabled = !registered;
  ui.call.disabled = !registered || active;
  ui.hangUp.disabled = !active;
  ui.hold.disabled = !active || call?.status === 'Hold';
  ui.resume.disabled = !active || call?.status !== 'Hold';
  ui.registrationStatus.textContent = registered
    ? `registered (${device?.registrationId})`
    : 'not registered';
  ui.callStatus.textContent = call?.status ?? 'none';
  ui.callPeer.textContent = call === undefined ? '' : `${call.direction} · ${call.remoteAddress}`;
  ui.incoming.hidden = incoming === undefined || incoming.ended;
  ui.incomingFrom.textContent = incoming?.remoteAddress ?? '';
}

/** The strongest frequency of what the page hears (Hz) and its level (dB), from an AnalyserNode. */
function loudest(): { frequency: number; level: number } {
  if (analyser === undefined) return { frequency: 0, level: Number.NEGATIVE_INFINITY };
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 1; i < bins.length; i++) if ((bins[i] ?? -Infinity) > (bins[best] ?? -Infinity)) best = i;
  return {
    frequency: (best * analyser.context.sampleRate) / analyser.fftSize,
    level: bins[best] ?? -Infinity,
  };
}

function showLevel(): void {
  const { frequency, level } = loudest();
  const audible = level > -70;
  ui.level.value = Math.max(-100, Math.min(0, level));
  ui.heard.textContent = audible ? `${Math.round(frequency)} Hz at ${level.toFixed(0)} dB` : 'silence';
}
setInterval(showLevel, 250);

function adopt(next: Call): void {
  call = next;
  next.on('status', (status) => {
    log(`call ${next.mediaSessionId ?? ''} → ${status}`);
    render();
  });
  next.on('remoteStream', (stream) => {
    // Chromium feeds remote WebRTC audio to WebAudio only while a media element plays it.
    remoteAudio.srcObject = stream;
    const context = audioContext();
    analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(stream).connect(analyser);
  });
  render();
}

async function guarded(action: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    log(`${action} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  render();
}

ui.register.addEventListener('click', () =>
  guarded('register', async () => {
    audioContext();
    const phoneNumber = ui.phone.value.trim();
    const response = await fetch('/demo/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phoneNumber }),
    });
    const body = (await response.json()) as { accessToken?: string; message?: string };
    if (!response.ok || body.accessToken === undefined) throw new Error(body.message ?? `${response.status}`);
    device = new Device({
      gatewayUrl: location.origin,
      token: body.accessToken,
      phoneNumber,
      ...(loopbackOnly ? { rewriteLocalSdp: keepLoopbackCandidates } : {}),
    });
    device.on('connection', (open) => {
      ui.eventsStatus.textContent = open ? 'open' : 'closed';
    });
    device.on('event', (event: DeviceEvent) => {
      const type = event.type.split('.').at(-1);
      log(`${type} ${event.data.status ?? event.data.terminationReason ?? ''} ${event.data.reason ?? ''}`);
    });
    device.on('incoming', (next) => {
      incoming = next;
      next.on('ended', () => {
        if (incoming === next) incoming = undefined;
        render();
      });
      render();
    });
    device.on('unregistered', () => render());
    const registrationId = await device.register();
    log(`registered ${phoneNumber} as ${registrationId}`);
  }),
);

ui.unregister.addEventListener('click', () =>
  guarded('unregister', async () => {
    await device?.close();
    device = undefined;
    call = undefined;
  }),
);

ui.call.addEventListener('click', () =>
  guarded('call', async () => {
    if (device === undefined) return;
    adopt(await device.call(ui.callee.value.trim(), await microphone()));
  }),
);

ui.answer.addEventListener('click', () =>
  guarded('answer', async () => {
    const answering = incoming;
    if (answering === undefined) return;
    incoming = undefined;
    adopt(answering);
    await answering.answer(await microphone());
  }),
);

ui.decline.addEventListener('click', () =>
  guarded('decline', async () => {
    const declining = incoming;
    incoming = undefined;
    await declining?.hangUp();
  }),
);

ui.hold.addEventListener('click', () => guarded('hold', async () => call?.hold()));
ui.resume.addEventListener('click', () => guarded('resume', async () => call?.resume()));
ui.hangUp.addEventListener('click', () => guarded('hang up', async () => call?.hangUp()));

/** For scripts driving the page (the browser tests): what it hears and the state of its call. */
Object.assign(window, {
  devicePage: {
    loudest,
    call: () => ({ status: call?.status ?? 'none', mediaSessionId: call?.mediaSessionId }),
    connectionState: () => call?.peerConnection?.connectionState ?? 'none',
  },
});

render();
