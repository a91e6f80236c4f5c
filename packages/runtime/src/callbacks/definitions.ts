/**
 * What generated code tells the runtime about each callback/webhook of a
 * document. Keys of `CallbackDefinitions` are the sender's method names.
 */
export interface CallbackDefinition {
  /** The callback or webhook id (the key of the generated `callbackValidators`). */
  id: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'OPTIONS' | 'HEAD' | 'PATCH' | 'TRACE';
  /** Media type of the request body, `null` when the callback has none. */
  mediaType: string | null;
  /**
   * CloudEvents (`application/cloudevents+json`, structured mode): the allowed
   * event `type`s, each with the name of its receiver handler. Empty when the
   * document does not enumerate them.
   */
  eventTypes?: Readonly<Record<string, string>>;
  /**
   * Receiver handler for this callback's payloads: the only one for other
   * media types, and for CloudEvents without enumerated types.
   */
  handler?: string;
}

export type CallbackDefinitions = Readonly<Record<string, CallbackDefinition>>;

/**
 * A payload validator: `null` when valid, else every violation described
 * (`data/mediaSessionId is required`). The generated `callbackValidators`
 * holds one per callback id.
 */
export type PayloadValidator = (payload: unknown) => string[] | null;

export const isCloudEvents = (definition: CallbackDefinition): boolean => definition.eventTypes !== undefined;

/** Whether a media type carries JSON (`application/json`, `application/cloudevents+json`, ...). */
export const isJsonMediaType = (mediaType: string): boolean => /[/+]json(\s*;|$)/i.test(mediaType);
