export {
  type RegistrationEndReason,
  type RegistrationHooks,
  type RegistrationOptions,
  RegistrationService,
  type RegistrationServiceDeps,
  type RegistrationServiceEvents,
  readDeviceId,
  toRegSessionResponse,
  UUID_PATTERN,
} from './registration-service.js';
