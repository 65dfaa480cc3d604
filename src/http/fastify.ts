/**
 * `agentcore-task/fastify`: the REST API as a Fastify plugin. Fastify stays an optional peer: only its types are
 * imported (erased at build time).
 *
 * @example
 * import Fastify from 'fastify';
 * import { tasksFastify } from 'agentcore-task/fastify';
 *
 * const app = Fastify();
 * await app.register(tasksFastify, { tasks, prefix: '/api/v1/tasks', getUser: (request) => userFrom(request) });
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentcoreTask } from '../create.js';
import type { HandlerOptions } from './context.js';
import { createNodeHandler } from './handler.js';
import { absoluteUrl, localOrigin, sendWebResponse, toWebRequest } from './node.js';

/**
 * Options of `tasksFastify`: the instance, the handler's options (`getUser(request, fastifyRequest)` receives the Web
 * `Request` and the Fastify request), and Fastify's own `prefix`.
 */
export interface TasksFastifyOptions extends Omit<HandlerOptions<FastifyRequest>, 'prefix'> {
  tasks: AgentcoreTask;
  /** Where the routes live, e.g. `/api/v1/tasks` (Fastify's register option). @defaultValue `''` */
  prefix?: string;
}

/**
 * The REST API as a Fastify plugin. Register it with a `prefix`. It is encapsulated: the raw-body
 * parser it installs applies to its own routes only.
 */
export const tasksFastify: FastifyPluginAsync<TasksFastifyOptions> = async function tasksFastify(fastify, options) {
  const { tasks, prefix: _registered, ...handlerOptions } = options;
  // fastify.prefix is the full prefix of this context, including the prefixes of enclosing plugins.
  const handler = createNodeHandler(tasks, { ...handlerOptions, prefix: fastify.prefix });
  // The Web handler reads the body itself (its type checked, its size limited, stopping past the limit): keep Fastify's
  // parsers from reading it first, into memory and under other rules.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack(); // the response is written to reply.raw, streamed
    try {
      const webRequest = toWebRequest(request.raw, reply.raw, {
        url: absoluteUrl(request.raw, request.raw.url ?? request.url, request.protocol, request.host),
        parsedBody: request.body,
      });
      await sendWebResponse(await handler(webRequest, request, { localOrigin: localOrigin(request.raw) }), reply.raw);
    } catch (error) {
      request.log.error({ err: error }, 'agentcore-task: request failed');
      if (!reply.raw.headersSent) {
        reply.raw.statusCode = 500;
        reply.raw.setHeader('content-type', 'application/json; charset=UTF-8');
        reply.raw.end(JSON.stringify({ detail: 'Internal server error.' }));
      } else reply.raw.destroy();
    }
  };
  fastify.all('/', serve);
  fastify.all('/*', serve);
};
