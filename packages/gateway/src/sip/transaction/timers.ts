/**
 * RFC 3261 §17.1.1.1 timer values. T1 is the round-trip estimate, T2 the
 * longest interval between retransmissions of non-INVITE requests and INVITE
 * responses, T4 how long a message may linger in the network.
 */
export interface SipTimers {
  T1: number;
  T2: number;
  T4: number;
}

export const DEFAULT_SIP_TIMERS: SipTimers = { T1: 500, T2: 4_000, T4: 5_000 };
