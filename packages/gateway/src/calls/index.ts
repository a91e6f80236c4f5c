export {
  type ActiveRegistrations,
  CallService,
  type CallServiceDeps,
  type CallServiceEvents,
  type CallServiceOptions,
  type CreateSessionInput,
  type EmergencyOptions,
  toMediaSessionResponse,
  type UpdateSessionStatusInput,
} from './call-service.js';
export {
  CallSession,
  type CallSessionDeps,
  type CallSessionEvents,
  type CallTimings,
  type ChangeCause,
  type StatusChange,
} from './call-session.js';
export {
  CLIENT_SETTABLE,
  ESTABLISHED,
  failureStatus,
  PRE_ANSWER,
  provisionalStatus,
} from './status-rules.js';
