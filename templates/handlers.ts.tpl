import { type HandlerInputOf, type HandlerResultOf, NotImplementedError } from '{{runtimePackage}}/server';
{{localImports}}

// Method types are looked up by operationId, so they follow the spec after each
// `telegate generate`; a method whose operation left the spec still compiles
// (typed `any`) until you delete it.
type Input<K extends string> = HandlerInputOf<{{interfaceName}}<AppAuth, AppRequest>, K>;
type Result<K extends string> = HandlerResultOf<{{interfaceName}}<AppAuth, AppRequest>, K>;

/**
 * {{title}}: one method per operation.
 *
 * This file is yours. `telegate scaffold` adds a method for each new operation
 * and never changes the existing ones. Return one of the documented responses,
 * or throw an `ApiError` (`NotFoundError`, `ConflictError`, ...) for a CAMARA error.
 */
export class {{className}} implements {{interfaceName}}<AppAuth, AppRequest> {}
