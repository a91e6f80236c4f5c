import type { FarEndBehaviour } from '../network/loopback/behaviours.js';

/**
 * Numbers of the embedded loopback network that do something other than
 * answer, so every call outcome can be tried without a SIP network: the last
 * three digits are the SIP status the far end ends with. Every other number
 * answers (183 with early media at 100 ms, 180 at 200 ms, 200 OK at 1 s).
 */
export const DEMO_NUMBERS: Readonly<Record<string, { behaviour: FarEndBehaviour; description: string }>> = {
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

/** The loopback behaviours of `DEMO_NUMBERS`, as `LoopbackNetworkOptions.behaviours` takes them. */
export function demoBehaviours(): Record<string, FarEndBehaviour> {
  return Object.fromEntries(
    Object.entries(DEMO_NUMBERS).map(([number, { behaviour }]) => [number, behaviour]),
  );
}
