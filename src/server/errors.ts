// Every error leaves the server as JSON {"error": "message"} with its status code.
// Messages of client errors are shown as they are; server errors are logged and
// answered with a generic message, so no stack trace or internal detail leaks.
import type { FastifyError, FastifyInstance } from 'fastify';
import { CatalogBusyError, ModelMismatchError } from '../catalog/types.js';

/** An error whose message is meant for the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found`);

/** The not-found handler is set in app.ts, where it is also rate limited. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, message } = describe(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    void reply.code(status).type('application/json; charset=utf-8').send({ error: message });
  });
}

function describe(err: FastifyError): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message };
  // An image id that is not a catalogue id (not a number, "..", "%2e%2e", …) names
  // no image: 404, the same answer as for a number that is not catalogued.
  if (err.validation && err.validationContext === 'params') return { status: 404, message: 'image not found' };
  if (err.validation) return { status: 400, message: err.message };
  if (err instanceof ModelMismatchError || err instanceof CatalogBusyError) return { status: 409, message: err.message };
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, message: err.message };
  return { status: status >= 500 && status < 600 ? status : 500, message: 'internal server error' };
}
