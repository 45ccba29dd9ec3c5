/**
 * Fastify's own schema compilers (Ajv for request validation,
 * fast-json-stringify for response serialization), loaded and run on a
 * route's first request instead of at start-up. Ajv with its formats and
 * code generator, and the validators it builds for every route that declares
 * a schema, are a few MB of heap that most Vigils never use (the schemas sit
 * on the Alertmanager API, sign-in, jobs and log intake). A request sees the
 * same validation and the same error shape: the real compiler builds the
 * real validator, which the wrapper calls and whose `errors` it hands on.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;

interface Validator {
  (data: unknown, ctx?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

// Resolved from fastify's own location: they are its dependencies, not Vigil's.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));

/** Builds the compiler on first use, from arguments fastify gave at set-up. */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

const buildValidator = ((externalSchemas: unknown, options: unknown) => {
  const compiler = once(() => {
    const factory = fastifyRequire('@fastify/ajv-compiler') as () => (s: unknown, o: unknown) => (route: unknown) => Validator;
    return factory()(externalSchemas, options);
  });
  return (route: unknown): Validator => {
    const real = once(() => compiler()(route));
    const validate: Validator = (data, ctx) => {
      const v = real();
      const ok = v(data, ctx);
      validate.errors = v.errors;
      return ok;
    };
    // Fastify passes the parent object (so Ajv may replace the root value) when the validator has a schemaEnv.
    Object.defineProperty(validate, 'schemaEnv', { get: () => real().schemaEnv });
    return validate;
  };
}) as unknown as BuildValidator;

const buildSerializer = ((externalSchemas: unknown, options: unknown) => {
  const compiler = once(() => {
    const factory = fastifyRequire('@fastify/fast-json-stringify-compiler') as () => (s: unknown, o: unknown) => (route: unknown) => (doc: unknown) => string;
    return factory()(externalSchemas, options);
  });
  return (route: unknown) => {
    const real = once(() => compiler()(route));
    return (doc: unknown) => real()(doc);
  };
}) as unknown as BuildSerializer;

export const lazySchemaCompilers: CompilersFactory = { buildValidator, buildSerializer };
