import type { CallHandlingHandlers, EventsHandlers, RegistrationHandlers } from '@telegate/webrtc-server';
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/auth.js';
import type { Gateway } from '../gateway.js';

/**
 * The three APIs' handler objects: behaviour only. Validation, scopes, error
 * bodies and routing come from the generated plugins; each method calls one
 * service method with the caller's `AuthContext` and picks the status.
 */
export interface GatewayHandlers {
  registration: RegistrationHandlers<AuthContext, FastifyRequest>;
  callHandling: CallHandlingHandlers<AuthContext, FastifyRequest>;
  events: EventsHandlers<AuthContext, FastifyRequest>;
}

export function createHandlers(gateway: Gateway): GatewayHandlers {
  const { registrations, calls, subscriptions } = gateway;
  // Operations that raise events (or, for a new subscription, will) are refused first when
  // too many events wait for delivery: 503 UNAVAILABLE before anything changes.
  const admit = (operation: string) => gateway.events.admit(operation);
  return {
    registration: {
      async getRegistrationsByDeviceId({ auth, query }) {
        return { status: 200, body: await registrations.list(auth, query.deviceId) };
      },
      async createRegistration({ auth, body }) {
        return { status: 201, body: await registrations.create(auth, body) };
      },
      async getRegistrationById({ auth, params }) {
        return { status: 200, body: await registrations.get(auth, params.registrationId) };
      },
      async updateRegistrationById({ auth, params, body }) {
        return { status: 200, body: await registrations.refresh(auth, params.registrationId, body) };
      },
      async deleteRegistrationById({ auth, params }) {
        await admit('deleteRegistrationById');
        await registrations.delete(auth, params.registrationId);
        return { status: 204 };
      },
    },
    callHandling: {
      async createSession({ auth, headers, body }) {
        await admit('createSession');
        return { status: 201, body: await calls.create(auth, headers.registrationId, body) };
      },
      async getSessionDetailsById({ auth, params }) {
        return { status: 200, body: await calls.get(auth, params.mediaSessionId) };
      },
      async deleteSessionById({ auth, params }) {
        await admit('deleteSessionById');
        await calls.delete(auth, params.mediaSessionId);
        return { status: 204 };
      },
      async updateSessionStatus({ auth, params, body }) {
        await admit('updateSessionStatus');
        return { status: 200, body: await calls.updateStatus(auth, params.mediaSessionId, body) };
      },
    },
    events: {
      async retrieveNotificationChannelSubscriptionList({ auth }) {
        return { status: 200, body: await subscriptions.list(auth) };
      },
      async createNotificationChannelSubscription({ auth, body }) {
        await admit('createNotificationChannelSubscription');
        return { status: 201, body: await subscriptions.create(auth, body) };
      },
      async retrieveNotificationChannelSubscription({ auth, params }) {
        return { status: 200, body: await subscriptions.get(auth, params.subscriptionId) };
      },
      async updateNotificationChannelSubscription({ auth, params, body }) {
        return { status: 200, body: await subscriptions.update(auth, params.subscriptionId, body) };
      },
      async deleteNotificationChannelSubscription({ auth, params }) {
        await admit('deleteNotificationChannelSubscription');
        return { status: 202, body: await subscriptions.delete(auth, params.subscriptionId) };
      },
    },
  };
}
