/**
 * In-page script, shared by the test pages: `window.loudest()`, the frequency (Hz) of the
 * strongest bin of what the page's AnalyserNode (`analyser`) hears, and its level in dB.
 */
export const LOUDEST = `window.loudest = () => {
  if (!analyser) return { frequency: 0, level: -Infinity };
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return { frequency: (best * analyser.context.sampleRate) / analyser.fftSize, level: bins[best] };
};
`;

/**
 * The page Chromium loads in the browser media test: a WebAudio oscillator
 * as the microphone, an AnalyserNode on what comes back. It offers to the
 * gateway through `POST /offer` on the test's loopback HTTP server, after
 * dropping every ICE candidate that is not on 127.0.0.1 (the test sends
 * nothing anywhere else).
 */
export const BROWSER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>telegate media e2e</title></head>
<body>
<audio id="remote" autoplay muted></audio>
<script>
let analyser;
let pc;

window.startCall = async (frequency) => {
  const audio = new AudioContext({ sampleRate: 48000 });
  await audio.resume();
  const oscillator = audio.createOscillator();
  oscillator.frequency.value = frequency;
  const gain = audio.createGain();
  gain.gain.value = 0.3;
  const microphone = audio.createMediaStreamDestination();
  oscillator.connect(gain).connect(microphone);
  oscillator.start();

  pc = new RTCPeerConnection({ iceServers: [] });
  const track = microphone.stream.getAudioTracks()[0];
  pc.addTrack(track, microphone.stream);
  pc.ontrack = (event) => {
    const stream = event.streams[0] ?? new MediaStream([event.track]);
    // Chromium feeds remote WebRTC audio to WebAudio only while a media element plays it.
    document.getElementById('remote').srcObject = stream;
    analyser = audio.createAnalyser();
    analyser.fftSize = 8192;
    audio.createMediaStreamSource(stream).connect(analyser);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  const offer = pc.localDescription.sdp
    .split('\\r\\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === '127.0.0.1')
    .join('\\r\\n');
  const response = await fetch('/offer', { method: 'POST', body: offer });
  if (!response.ok) throw new Error('gateway refused the offer: ' + (await response.text()));
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return offer;
};

window.connectionState = () => (pc ? pc.connectionState : 'none');

${LOUDEST}</script>
</body></html>`;
