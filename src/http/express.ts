/**
 * `agentcore-task/express`: the REST API as Express middleware. Express stays an optional peer: nothing here
 * imports it (the request/response are typed structurally over `node:http`).
 *
 * @example
 * import express from 'express';
 * import { tasksExpress } from 'agentcore-task/express';
 *
 * const app = express();
 * app.use('/api/v1/tasks', tasksExpress<express.Request>(tasks, { getUser: (_request, req) => req.user ?? null }));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentcoreTask } from '../create.js';
import { isUnmatchedResponse } from './app.js';
import type { HandlerOptions } from './context.js';
import { createNodeHandler } from './handler.js';
import { absoluteUrl, localOrigin, sendWebResponse, toWebRequest } from './node.js';

/** The parts of an Express request the mount reads (Express's `Request` satisfies it). */
export interface ExpressRequestLike extends IncomingMessage {
  /** Full path with the mount prefix, e.g. `/api/v1/tasks/executions/?page=2`. */
  originalUrl?: string;
  /** The mount path, e.g. `/api/v1/tasks`. */
  baseUrl?: string;
  /** Set when a body parser (e.g. `express.json()`) already read the body. */
  body?: unknown;
  /** `http`/`https`, honouring Express's `trust proxy`. */
  protocol?: string;
  /** Host (with port), honouring `trust proxy`. */
  host?: string;
}

/** An Express middleware function. */
export type ExpressMiddleware<Req extends ExpressRequestLike = ExpressRequestLike> = (
  req: Req,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Options of `tasksExpress`: the handler's, with `getUser(request, req)` receiving the Web `Request` and the Express
 * request (so `req.user` / `req.session` set by passport or express-session can be used; pass your request type as
 * the type argument: `tasksExpress<express.Request>(…)`).
 */
export interface TasksExpressOptions<Req extends ExpressRequestLike = ExpressRequestLike>
  extends Omit<HandlerOptions<Req>, 'prefix'> {}

/**
 * The REST API as Express middleware: mount it under a prefix with `app.use(prefix, …)`. Requests
 * no route matches go on to `next()`. Works with or without `express.json()` before it.
 */
export function tasksExpress<Req extends ExpressRequestLike = ExpressRequestLike>(
  tasks: AgentcoreTask,
  options: TasksExpressOptions<Req>,
): ExpressMiddleware<Req> {
  // One app for every mount path: the path Express mounted it at (req.baseUrl) is stripped per request.
  const handler = createNodeHandler(tasks, options);

  return function agentcoreTaskExpress(req, res, next) {
    const path = req.originalUrl ?? req.url ?? '/';
    const request = toWebRequest(req, res, {
      url: absoluteUrl(req, path, req.protocol, expressHost(req)),
      parsedBody: req.body,
    });
    handler(request, req, { mountPath: req.baseUrl, localOrigin: localOrigin(req) })
      .then((response) => {
        if (isUnmatchedResponse(response)) return next();
        return sendWebResponse(response, res);
      })
      .catch(next);
  };
}

/**
 * `req.host` with its port: Express 5 keeps the port, Express 4 returns the host name alone (honouring `trust proxy`
 * in both). Without the port the API's own origin would not match the browser's `Origin` and a same-origin PATCH
 * would be refused as cross-site.
 */
function expressHost(req: ExpressRequestLike): string | undefined {
  const host = req.host;
  const raw = req.headers.host;
  if (host && raw && !/:\d+$/.test(host) && raw.startsWith(`${host}:`)) return raw;
  return host;
}
