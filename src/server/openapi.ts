// The OpenAPI 3.1 document at /api/openapi.json, built from the routes as they are
// registered (their JSON schemas and a short `config.openapi` note), so every
// API route is described and the description is what the server validates.
// OpenAPI 3.1 takes JSON Schema as it is, so the schemas go in unchanged.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { errorResponse } from './schemas.js';

/** What a route adds about itself beyond its schemas. */
export interface OpenApiNote {
  summary: string;
  /** Media type of a non-JSON success response (images). */
  produces?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: OpenApiNote;
  }
}

type Schema = Record<string, unknown> & { properties?: Record<string, Record<string, unknown>>; required?: readonly string[] };

interface DescribedRoute {
  method: string;
  url: string;
  note: OpenApiNote;
  schema: { params?: Schema; querystring?: Schema; response?: Record<string, Schema> };
}

/** Starts collecting routes; call before the API routes are registered. */
export function collectOpenApiRoutes(app: FastifyInstance): DescribedRoute[] {
  const routes: DescribedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const note = route.config?.openapi;
    if (!note) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method: method.toLowerCase(), url: route.url, note, schema: (route.schema ?? {}) as DescribedRoute['schema'] });
    }
  });
  return routes;
}

function parameters(where: 'path' | 'query', schema: Schema | undefined): object[] {
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema?.required ?? []).includes(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

export function openApiDocument(routes: readonly DescribedRoute[], options: { tokenRequired: boolean; version: string }): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const success = route.note.produces
      ? { description: 'OK', content: { [route.note.produces]: { schema: { type: 'string', format: 'binary' } } } }
      : { description: 'OK', content: { 'application/json': { schema: route.schema.response?.['200'] ?? {} } } };
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.note.summary,
      parameters: [...parameters('path', route.schema.params), ...parameters('query', route.schema.querystring)],
      responses: {
        '200': success,
        ...(route.note.produces ? { '304': { description: 'not modified (If-None-Match matched the ETag)' } } : {}),
        '4XX': { description: 'client error', content: { 'application/json': { schema: errorResponse } } },
        '5XX': { description: 'server error', content: { 'application/json': { schema: errorResponse } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'picsift',
      version: options.version,
      description:
        'Search a photo collection by text. Errors are {"error": "message"}. Files are reached only by catalogue id. ' +
        (options.tokenRequired
          ? 'This server needs its token on every request.'
          : 'This server listens on a loopback address and needs no token.'),
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        tokenQuery: { type: 'apiKey', in: 'query', name: 'token' },
      },
    },
    ...(options.tokenRequired ? { security: [{ bearer: [] }, { tokenQuery: [] }] } : {}),
  };
}
