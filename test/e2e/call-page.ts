import { LOUDEST } from './browser-page.js';

/**
 * The page Chromium loads in the media failure tests: a WebAudio oscillator as the microphone, an
 * AnalyserNode on what comes back, and one RTCPeerConnection the test drives step by step
 * (`offer`, `accept`, an ICE-restart `offer`), so it can carry each SDP to the gateway's API
 * itself, and alter it on the way. Offers keep only 127.0.0.1 candidates: nothing leaves the machine.
 */
export const CALL_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>telegate media failures e2e</title></head>
<body>
<audio id="remote" autoplay muted></audio>
<script>
let audio;
let oscillator;
let analyser;
let pc;

/** A new peer connection sending a tone of frequency Hz; codecs (e.g. ['opus']) limits what it offers. */
window.prepare = async (frequency, codecs) => {
  if (pc) pc.close();
  audio ??= new AudioContext({ sampleRate: 48000 });
  await audio.resume();
  if (!oscillator) {
    oscillator = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.3;
    window.microphone = audio.createMediaStreamDestination();
    oscillator.connect(gain).connect(window.microphone);
    oscillator.start();
  }
  oscillator.frequency.value = frequency;
  analyser = undefined;
  pc = new RTCPeerConnection({ iceServers: [] });
  const track = window.microphone.stream.getAudioTracks()[0];
  const transceiver = pc.addTransceiver(track, { direction: 'sendrecv', streams: [window.microphone.stream] });
  if (codecs) {
    const all = RTCRtpReceiver.getCapabilities('audio').codecs;
    transceiver.setCodecPreferences(all.filter((c) => codecs.includes(c.mimeType.slice(6).toLowerCase())));
  }
  pc.ontrack = (event) => {
    const stream = event.streams[0] ?? new MediaStream([event.track]);
    // Chromium feeds remote WebRTC audio to WebAudio only while a media element plays it.
    document.getElementById('remote').srcObject = stream;
    analyser = audio.createAnalyser();
    analyser.fftSize = 8192;
    audio.createMediaStreamSource(stream).connect(analyser);
  };
};

window.tone = (frequency) => {
  oscillator.frequency.value = frequency;
};

/** A complete offer (gathering done), 127.0.0.1 candidates only; iceRestart asks for new ICE credentials. */
window.offer = async (iceRestart) => {
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: Boolean(iceRestart) }));
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp
    .split('\\r\\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === '127.0.0.1')
    .join('\\r\\n');
};

window.accept = async (sdp) => {
  await pc.setRemoteDescription({ type: 'answer', sdp });
};

window.state = () => (pc ? { connection: pc.connectionState, ice: pc.iceConnectionState } : undefined);

window.hangUp = () => {
  if (pc) pc.close();
  pc = undefined;
};

${LOUDEST}</script>
</body></html>`;
