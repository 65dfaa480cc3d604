/**
 * The OpenAPI 3.1 document, generated from the zod schemas that validate the requests (`schemas.ts`) and from the
 * route descriptions each route registers with (`app.ts`). Nothing here is written by hand per field.
 */
import { z } from 'zod';
import {
  configSchema,
  detailErrorSchema,
  executionDetailSchema,
  executionPageSchema,
  executionSchema,
  locksSchema,
  statsSchema,
  statusCountsSchema,
  validationErrorSchema,
} from './schemas.js';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** One response of an operation. */
export interface ResponseDoc {
  description: string;
  /** JSON body schema; omit for none. */
  schema?: z.ZodType;
  /**
   * Another media type with a free-form body (e.g. `text/event-stream`, `text/html`); with `schema` too, the answer
   * is either (an export: `text/csv` or JSON).
   */
  contentType?: string;
}

/** How one route is described. Every route of the sub-app is registered with one (see `app.ts`). */
export interface RouteDoc {
  method: HttpMethod;
  /** Relative to the mount prefix, OpenAPI style with the trailing slash of the seed: `/executions/{id}/`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  query?: z.ZodObject;
  /** Extra query parameters that a zod object cannot name (e.g. `metadata.<key>`). */
  extraQuery?: Array<{ name: string; description: string }>;
  pathParams?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
  /** `false` for a route that does its own authentication. @defaultValue `true` */
  authenticated?: boolean;
}

/** Shared response schemas, emitted once under `components.schemas` and referenced by `$ref`. */
const COMPONENTS: Record<string, z.ZodType> = {
  Execution: executionSchema,
  ExecutionDetail: executionDetailSchema,
  ExecutionPage: executionPageSchema,
  StatusCounts: statusCountsSchema,
  Stats: statsSchema,
  Config: configSchema,
  Locks: locksSchema,
  ValidationError: validationErrorSchema,
  Error: detailErrorSchema,
};

type JsonSchema = Record<string, unknown>;

function clean(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function componentSchemas(): { schemas: Record<string, JsonSchema>; refs: Map<z.ZodType, string> } {
  const registry = z.registry<{ id: string }>();
  const refs = new Map<z.ZodType, string>();
  for (const [id, schema] of Object.entries(COMPONENTS)) {
    registry.add(schema, { id });
    refs.set(schema, `#/components/schemas/${id}`);
  }
  const out = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'output',
    unrepresentable: 'any',
  }) as { schemas: Record<string, JsonSchema> };
  const schemas = Object.fromEntries(Object.entries(out.schemas).map(([id, s]) => [id, clean(s)]));
  return { schemas, refs };
}

function schemaOf(schema: z.ZodType, refs: Map<z.ZodType, string>, io: 'input' | 'output' = 'output'): JsonSchema {
  const ref = refs.get(schema);
  if (ref) return { $ref: ref };
  return clean(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
}

function parameters(schema: z.ZodObject | undefined, location: 'query' | 'path'): JsonSchema[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** Options of `buildOpenApiDocument`. */
export interface OpenApiOptions {
  /** The URL the routes live under (the mount prefix), e.g. `https://example.com/api/v1/tasks`. */
  serverUrl: string;
  title?: string;
  version?: string;
}

/** The OpenAPI 3.1 document of `routes`. */
export function buildOpenApiDocument(routes: readonly RouteDoc[], options: OpenApiOptions): Record<string, unknown> {
  const { schemas, refs } = componentSchemas();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
    };
    const declared = parameters(route.pathParams, 'path');
    // Every `{name}` of the path is a parameter, even when the route validates it itself (dashboard asset files).
    for (const [, name] of route.path.matchAll(/\{(\w+)\}/g))
      if (!declared.some((p) => p.name === name))
        declared.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    const params = [
      ...declared,
      ...parameters(route.query, 'query'),
      ...(route.extraQuery ?? []).map((p) => ({
        name: p.name,
        in: 'query',
        description: p.description,
        schema: { type: 'string' },
      })),
    ];
    if (params.length > 0) operation.parameters = params;
    if (route.body)
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: schemaOf(route.body, refs, 'input') } },
      };
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const content =
        response.schema || response.contentType
          ? {
              ...(response.schema ? { 'application/json': { schema: schemaOf(response.schema, refs) } } : {}),
              ...(response.contentType ? { [response.contentType]: { schema: { type: 'string' } } } : {}),
            }
          : undefined;
      responses[status] = { description: response.description, ...(content ? { content } : {}) };
    }
    operation.responses = responses;
    if (route.authenticated === false) operation.security = [];
    paths[route.path] ??= {};
    paths[route.path][route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'agentcore-task',
      version: options.version ?? '1',
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'Task execution records: list, filter, inspect, sync and aggregate runs. Every route also answers without the trailing slash.',
    },
    servers: [{ url: options.serverUrl }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        host: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The host application's authentication (`getUser`): its session cookie, or a bearer token with `agentcore-task serve --users`.",
        },
      },
    },
    security: [{ host: [] }],
  };
}

/** `/executions/:id` (Hono) and `/executions/{id}/` (OpenAPI) → the same key, for comparing route lists. */
export function routeKey(method: string, path: string): string {
  const normalized = path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/+$/, '') || '/';
  return `${method.toUpperCase()} ${normalized}`;
}
