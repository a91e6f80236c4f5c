import type { FarEndBehaviour } from '../network/loopback/behaviours.js';
import type { DemoBehaviour } from '../sip/demo/demo-telco-network.js';

/**
 * Numbers of the embedded loopback network that do something other than
 * answer, so every call outcome can be tried without a SIP network: the last
 * three digits are the SIP status the far end ends with. Every other number
 * answers (183 with early media at 100 ms, 180 at 200 ms, 200 OK at 1 s).
 */
export const DEMO_NUMBERS: Readonly<Record<string, { behaviour: DemoBehaviour; description: string }>> = {
  '+990000000200': {
    behaviour: { kind: 'echo' },
    description: 'answers at once and sends your audio back to you (echo)',
  },
  '+990000000201': {
    behaviour: { kind: 'call-back', afterMs: 1000 },
    description: 'answers, hangs up after a second and calls you back (an incoming call)',
  },
  '+990000000486': { behaviour: { kind: 'busy' }, description: 'busy: 486 Busy Here after 100 ms' },
  '+990000000603': {
    behaviour: { kind: 'decline', atMs: 2000, progress: [{ status: 180, atMs: 100 }] },
    description: 'rings, then declines: 603 Decline after 2 s',
  },
  '+990000000480': {
    behaviour: { kind: 'no-answer', atMs: 10_000 },
    description: 'rings, nobody answers: 480 Temporarily Unavailable after 10 s',
  },
  '+990000000404': {
    behaviour: { kind: 'reject', status: 404 },
    description: 'unknown number: 404 Not Found after 100 ms',
  },
  '+990000000180': {
    behaviour: { kind: 'ring-forever' },
    description: 'rings until the caller cancels (or the no-answer timer fires)',
  },
};

/** The behaviours of `DEMO_NUMBERS`, as `DemoTelcoNetworkOptions.behaviours` takes them. */
export function demoNetworkBehaviours(): Record<string, DemoBehaviour> {
  return Object.fromEntries(
    Object.entries(DEMO_NUMBERS).map(([number, { behaviour }]) => [number, behaviour]),
  );
}

/** The behaviours the in-process loopback network can play (it has no media to echo and places no calls itself). */
export function demoBehaviours(): Record<string, FarEndBehaviour> {
  const out: Record<string, FarEndBehaviour> = {};
  for (const [number, { behaviour }] of Object.entries(DEMO_NUMBERS)) {
    if (behaviour.kind === 'echo' || behaviour.kind === 'call-back') out[number] = { kind: 'answer' };
    else out[number] = behaviour;
  }
  return out;
}
