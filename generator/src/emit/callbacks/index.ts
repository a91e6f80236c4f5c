import ts from 'typescript';
import type { ApiDocument } from '../../ir/types.js';
import { camelCase } from '../../parse/build-ir.js';
import {
  type EmitDocument,
  type EmitOptions,
  type Emitter,
  type GeneratedFile,
  generatedModule,
} from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  exportInterface,
  importDeclaration,
  printNodes,
  property,
  propertyName,
  typeRef,
  union,
  withJsDoc,
} from '../ts-ast.js';
import { operationTypeNames, schemaTypeNames, typesFileName } from '../types/index.js';
import { validatorsFileName } from '../validators/index.js';
import { type CallbackModel, callbackModels } from './model.js';

const f = ts.factory;
const EXPORT = [f.createModifier(ts.SyntaxKind.ExportKeyword)];

/** The types file is imported as a namespace, so its names never clash with ours. */
const TYPES = 'Types';

export function callbacksFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.callbacks.gen.ts`;
}

export function callbacksNames(doc: EmitDocument) {
  return {
    definitions: `${camelCase(doc.apiName)}Callbacks`,
    payloads: `${doc.apiName}CallbackPayloads`,
    sender: `${doc.apiName}CallbackSender`,
    senderFactory: `create${doc.apiName}CallbackSender`,
    handlers: `${doc.apiName}CallbackHandlers`,
    receiverFactory: `create${doc.apiName}CallbackReceiver`,
  };
}

const typesMember = (name: string) =>
  f.createTypeReferenceNode(f.createQualifiedName(f.createIdentifier(TYPES), name));
const str = (text: string) => f.createStringLiteral(text);

/**
 * Type of a named schema: the types file's alias when it exports one
 * (`Types.EventSessionStatus`), else `Types.components["schemas"]["X"]`.
 */
function schemaType(name: string, aliases: ReadonlyMap<string, string>): ts.TypeNode {
  const alias = aliases.get(name);
  if (alias !== undefined) return typesMember(alias);
  return f.createIndexedAccessTypeNode(
    f.createIndexedAccessTypeNode(typesMember('components'), f.createLiteralTypeNode(str('schemas'))),
    f.createLiteralTypeNode(str(name)),
  );
}

/** Per event type, the payload type a handler receives. */
function eventTypes(model: CallbackModel, aliases: ReadonlyMap<string, string>, payload: ts.TypeNode) {
  return model.events.map((event) => ({
    ...event,
    typeNode: event.schema === undefined ? payload : schemaType(event.schema, aliases),
  }));
}

function callbackDoc(model: CallbackModel): string {
  const { callback } = model;
  const where =
    callback.kind === 'callback'
      ? `Callback \`${callback.name}\` of \`${callback.parentOperationId}\`: ${callback.method.toUpperCase()} \`${callback.expression}\``
      : `Webhook \`${callback.name}\`: ${callback.method.toUpperCase()}`;
  return model.mediaType === null ? `${where}.` : `${where}, \`${model.mediaType}\`.`;
}

/** `{ id, method, mediaType, eventTypes | handler }` of one callback. */
function definitionLiteral(model: CallbackModel): ts.ObjectLiteralExpression {
  const members: ts.ObjectLiteralElementLike[] = [
    f.createPropertyAssignment('id', str(model.callback.id)),
    f.createPropertyAssignment('method', str(model.callback.method.toUpperCase())),
    f.createPropertyAssignment('mediaType', model.mediaType === null ? f.createNull() : str(model.mediaType)),
  ];
  if (model.cloudEvents) {
    members.push(
      f.createPropertyAssignment(
        'eventTypes',
        f.createObjectLiteralExpression(
          model.events.map((event) => f.createPropertyAssignment(str(event.type), str(event.handler))),
          true,
        ),
      ),
    );
  }
  if (model.handler !== undefined) members.push(f.createPropertyAssignment('handler', str(model.handler)));
  return f.createObjectLiteralExpression(members, true);
}

function parameter(name: string, type: ts.TypeNode, optional = false): ts.ParameterDeclaration {
  return f.createParameterDeclaration(
    undefined,
    undefined,
    name,
    optional ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined,
    type,
  );
}

function exportConst(name: string, initializer: ts.Expression): ts.VariableStatement {
  return f.createVariableStatement(
    EXPORT,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(name, undefined, undefined, initializer)],
      ts.NodeFlags.Const,
    ),
  );
}

/** `return create(definitions, handlers?, { validators: callbackValidators, ...options })` */
function factoryBody(
  create: string,
  typeArgs: ts.TypeNode[] | undefined,
  args: ts.Expression[],
  withValidators: boolean,
): ts.Block {
  const options = withValidators
    ? f.createObjectLiteralExpression([
        f.createPropertyAssignment('validators', f.createIdentifier('callbackValidators')),
        f.createSpreadAssignment(f.createIdentifier('options')),
      ])
    : f.createIdentifier('options');
  return f.createBlock(
    [
      f.createReturnStatement(
        f.createCallExpression(f.createIdentifier(create), typeArgs, [...args, options]),
      ),
    ],
    true,
  );
}

function schemaSummary(ir: ApiDocument, schema: string | undefined): string | undefined {
  const description = schema === undefined ? undefined : ir.schemas[schema]?.description;
  return typeof description === 'string' ? description.split('\n')[0] : undefined;
}

function emitDocument(doc: EmitDocument, options: EmitOptions, withValidators: boolean): GeneratedFile {
  const { ir } = doc;
  const names = callbacksNames(doc);
  const models = callbackModels(ir);
  const opNames = operationTypeNames(doc);
  const taken = schemaTypeNames(doc);
  const anyCloudEvents = models.some((m) => m.cloudEvents);

  /** The callback's `<Id>Payload` from the types file (`undefined` without a body). */
  const declaredPayload = (model: CallbackModel): ts.TypeNode => {
    const payloadName = opNames.get(model.callback.id)?.payload;
    return model.mediaType !== null && payloadName !== undefined
      ? typesMember(payloadName)
      : f.createKeywordTypeNode(ts.SyntaxKind.UndefinedKeyword);
  };
  const payloadOf = (model: CallbackModel): ts.TypeNode => {
    const declared = declaredPayload(model);
    const events = eventTypes(model, taken, declared);
    return events.length > 0 ? union(events.map((e) => e.typeNode)) : declared;
  };
  const payloadsMember = (model: CallbackModel) =>
    f.createIndexedAccessTypeNode(typeRef(names.payloads), f.createLiteralTypeNode(str(model.methodName)));

  const runtime = `${options.runtimePackage}/callbacks`;
  const nodes: ts.Node[] = [
    importDeclaration(runtime, [
      { name: 'CallbackDefinitions', typeOnly: true },
      { name: 'CallbackReceiver', typeOnly: true },
      { name: 'CallbackReceiverOptions', typeOnly: true },
      { name: 'CallbackSenderControls', typeOnly: true },
      { name: 'CallbackSenderOptions', typeOnly: true },
      { name: 'CallbackSendOptions', typeOnly: true },
      ...(anyCloudEvents
        ? [
            { name: 'CloudEventInput', typeOnly: true },
            { name: 'CloudEventSenderOptions', typeOnly: true },
          ]
        : []),
      { name: 'createCallbackReceiver' },
      { name: 'createCallbackSender' },
      { name: 'DeliveryResult', typeOnly: true },
      { name: 'ReceivedCallback', typeOnly: true },
    ]),
    f.createImportDeclaration(
      undefined,
      f.createImportClause(true, undefined, f.createNamespaceImport(f.createIdentifier(TYPES))),
      str(generatedModule(options, 'types', typesFileName(doc))),
    ),
  ];
  if (withValidators) {
    nodes.push(
      importDeclaration(generatedModule(options, 'validators', validatorsFileName(doc)), [
        { name: 'callbackValidators' },
      ]),
    );
  }

  nodes.push(
    withJsDoc(
      exportConst(
        names.definitions,
        f.createSatisfiesExpression(
          f.createAsExpression(
            f.createObjectLiteralExpression(
              models.map((model) =>
                f.createPropertyAssignment(propertyName(model.methodName), definitionLiteral(model)),
              ),
              true,
            ),
            typeRef('const'),
          ),
          typeRef('CallbackDefinitions'),
        ),
      ),
      [
        `Callbacks and webhooks of ${ir.title}, by sender method: id, HTTP method, media type, and the receiver handler of each CloudEvents \`type\` (or of the whole callback).`,
      ],
    ),
    withJsDoc(
      exportInterface(
        names.payloads,
        models.map((model) =>
          withJsDoc(property(model.methodName, payloadOf(model)), [
            model.cloudEvents && model.events.length > 0
              ? `The events \`${model.methodName}\` delivers, one type per CloudEvents \`type\`.`
              : `The payload of \`${model.methodName}\`.`,
          ]),
        ),
      ),
      ['What each callback sends, by sender method.'],
    ),
  );

  // Sender
  const senderMethods = models.map((model) => {
    const payload = model.cloudEvents
      ? typeRef('CloudEventInput', payloadsMember(model))
      : payloadsMember(model);
    return withJsDoc(
      f.createMethodSignature(
        undefined,
        propertyName(model.methodName),
        undefined,
        undefined,
        [
          parameter('sink', f.createKeywordTypeNode(ts.SyntaxKind.StringKeyword)),
          parameter(model.cloudEvents ? 'event' : 'payload', payload, model.mediaType === null),
          parameter('options', typeRef('CallbackSendOptions'), true),
        ],
        typeRef('Promise', typeRef('DeliveryResult')),
      ),
      [
        model.callback.summary,
        callbackDoc(model),
        model.cloudEvents
          ? '`id`, `time`, `specversion` and `source` are filled in when missing; the event is validated, queued per sink and delivered in order with retries. Resolves with the outcome; never rejects.'
          : 'The payload is validated, queued per sink and delivered in order with retries. Resolves with the outcome; never rejects.',
        model.callback.deprecated ? '@deprecated' : undefined,
      ],
    );
  });
  const senderInterface = f.createInterfaceDeclaration(
    EXPORT,
    names.sender,
    undefined,
    [
      f.createHeritageClause(ts.SyntaxKind.ExtendsKeyword, [
        f.createExpressionWithTypeArguments(f.createIdentifier('CallbackSenderControls'), undefined),
      ]),
    ],
    senderMethods,
  );
  const senderOptions = anyCloudEvents
    ? f.createIntersectionTypeNode([typeRef('CallbackSenderOptions'), typeRef('CloudEventSenderOptions')])
    : typeRef('CallbackSenderOptions');
  nodes.push(
    withJsDoc(senderInterface, [
      `Sends the callbacks of ${ir.title} (for the API provider): one method per callback.`,
    ]),
    withJsDoc(
      f.createFunctionDeclaration(
        EXPORT,
        undefined,
        names.senderFactory,
        undefined,
        [
          f.createParameterDeclaration(
            undefined,
            undefined,
            'options',
            undefined,
            senderOptions,
            anyCloudEvents ? undefined : f.createObjectLiteralExpression(),
          ),
        ],
        typeRef(names.sender),
        factoryBody(
          'createCallbackSender',
          [typeRef(names.sender)],
          [f.createIdentifier(names.definitions)],
          withValidators,
        ),
      ),
      [
        `Creates the callback sender of ${ir.title}.`,
        'Sinks are checked against SSRF (only public `https` hosts unless `sinkPolicy` allows more) when sending and connected to by the checked address; failed attempts are retried with exponential backoff (408, 429, 5xx, network errors; `Retry-After` honoured); a 410 stops delivery to the sink (`reason: "gone"`). Each sink has its own ordered queue of at most `maxQueue` deliveries; when full, new sends fail at once with `reason: "queue-full"`.',
      ],
    ),
  );

  // Receiver
  const handlerSignature = (
    name: string,
    argument: 'event' | 'payload',
    payload: ts.TypeNode,
    lines: (string | undefined)[],
  ) =>
    withJsDoc(
      f.createMethodSignature(
        undefined,
        name,
        undefined,
        undefined,
        [parameter(argument, payload), parameter('context', typeRef('ReceivedCallback'))],
        union([
          f.createKeywordTypeNode(ts.SyntaxKind.VoidKeyword),
          typeRef('Promise', f.createKeywordTypeNode(ts.SyntaxKind.VoidKeyword)),
        ]),
      ),
      lines,
    );
  const handlerMembers = models.flatMap((model) => {
    const declared = declaredPayload(model);
    if (model.handler !== undefined) {
      return [
        handlerSignature(model.handler, model.cloudEvents ? 'event' : 'payload', declared, [
          model.callback.summary ?? `Payloads of \`${model.methodName}\`.`,
          callbackDoc(model),
        ]),
      ];
    }
    return eventTypes(model, taken, declared).map((event) =>
      handlerSignature(event.handler, 'event', event.typeNode, [
        `\`${event.type}\` events of \`${model.methodName}\`.`,
        schemaSummary(ir, event.schema),
      ]),
    );
  });
  nodes.push(
    withJsDoc(exportInterface(names.handlers, handlerMembers), [
      `Handlers of the callbacks of ${ir.title} (for the API consumer). Each is called once per event id; throw \`CallbackRejection\` to answer with an error (410 ends the subscription).`,
    ]),
    withJsDoc(
      f.createFunctionDeclaration(
        EXPORT,
        undefined,
        names.receiverFactory,
        undefined,
        [
          parameter('handlers', typeRef(names.handlers)),
          f.createParameterDeclaration(
            undefined,
            undefined,
            'options',
            undefined,
            typeRef('CallbackReceiverOptions'),
            f.createObjectLiteralExpression(),
          ),
        ],
        typeRef('CallbackReceiver'),
        factoryBody(
          'createCallbackReceiver',
          undefined,
          [f.createIdentifier(names.definitions), f.createIdentifier('handlers')],
          withValidators,
        ),
      ),
      [
        `Creates the callback receiver of ${ir.title}: \`fetch\` (a \`(Request) => Promise<Response>\` handler), \`express\` (middleware), \`node\` (an \`http\` listener) and \`fastify\` (a plugin).`,
        'It checks `auth` (bearer token, signatures) → 401, validates the payload → 400 `INVALID_ARGUMENT`, answers 204 to a duplicate event id without calling a handler, and dispatches by CloudEvents `type` or callback.',
      ],
    ),
  );

  return {
    path: callbacksFileName(doc),
    contents: `${generatedHeader([ir.source])}\n${printNodes(nodes)}`,
    exports: {
      values: [names.definitions, names.senderFactory, names.receiverFactory],
      types: [names.payloads, names.sender, names.handlers],
    },
    aliases: [
      { name: names.senderFactory, alias: 'createCallbackSender' },
      { name: names.receiverFactory, alias: 'createCallbackReceiver' },
    ],
  };
}

/**
 * The callbacks emitter: `<fileBase>.callbacks.gen.ts` per document that has
 * callbacks or webhooks (none for a document without). `validators: false`
 * leaves payload validation to the `validate` option, for use without the
 * validators emitter.
 */
export function createCallbacksEmitter(settings: { validators: boolean }): Emitter {
  return {
    name: 'callbacks',
    requires: settings.validators ? ['types', 'validators'] : ['types'],
    emit(documents, options) {
      return documents
        .filter((doc) => doc.ir.callbacks.length > 0)
        .map((doc) => emitDocument(doc, options, settings.validators));
    },
  };
}

export const callbacksEmitter: Emitter = createCallbacksEmitter({ validators: true });
