// The studio for a plain browser: serves the built renderer and answers the contract at POST /api/<command>.
// Anything on this machine can reach 127.0.0.1, so every API call needs the per-launch token, and the Host and
// Origin headers must name this server (stops DNS rebinding and cross-site pages from driving the studio).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { studioError, type StudioError, type StudioReply } from '../../shared/protocol/studio-contract';
import { STATIC_SECURITY_HEADERS, contentTypeFor, resolveStaticPath } from './static-assets';
import { createStudioDispatch, createStudioHandlers, type StudioDispatch } from './studio-handlers';

/** Largest accepted API body; contract calls are small JSON objects. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface WebStudioOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Only loopback: the token is the only thing between the API and anyone who can reach the port. */
  host?: '127.0.0.1';
  /** The built renderer, e.g. `out/renderer`. */
  staticDir: string;
  /** Shown by `app.info` when `dispatch` is not given. */
  appVersion?: string;
  /** Answers contract calls; defaults to the studio handlers for the web host. */
  dispatch?: StudioDispatch;
}

export interface WebStudio {
  /** The page URL including `?token=`; open this in a browser. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** The per-launch API token (base64url of 24 random bytes). */
  readonly token: string;
  close(): Promise<void>;
}

/** Starts the web studio on loopback and resolves once it listens. */
export async function startWebStudio(options: WebStudioOptions): Promise<WebStudio> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const dispatch =
    options.dispatch ??
    createStudioDispatch(
      createStudioHandlers({ appVersion: options.appVersion ?? '0.0.0', platform: 'web' }),
    );
  let port = 0;

  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  const hasToken = (req: IncomingMessage): boolean => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) return false;
    const given = Buffer.from(match[1]);
    return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding: a foreign name resolving to 127.0.0.1 still sends its own name as Host.
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      return sendError(res, 403, studioError('forbidden', 'Unexpected Host header'));
    }
    const url = new URL(req.url ?? '/', `http://${host}:${port}`);
    if (url.pathname.startsWith('/api/')) return handleApi(req, res, url.pathname.slice('/api/'.length));
    return serveStatic(req, res, options.staticDir, url.pathname);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, rawCommand: string): Promise<void> => {
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().includes(origin)) {
      return sendError(res, 403, studioError('forbidden', `Origin ${origin} may not call the studio`));
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      return sendError(res, 403, studioError('forbidden', 'Cross-site requests may not call the studio'));
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendError(res, 405, studioError('bad-request', 'Use POST for /api/<command>'));
    }
    if (!hasToken(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendError(res, 401, studioError('unauthorized', 'Missing or wrong studio token'));
    }
    // A JSON content type also forces a CORS preflight on any cross-origin browser request.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return sendError(res, 415, studioError('bad-request', 'Send the arguments as application/json'));
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) return sendError(res, 413, studioError('bad-request', 'Request body too large'));
    let args: unknown = {};
    if (body.trim() !== '') {
      try {
        args = JSON.parse(body);
      } catch {
        return sendError(res, 400, studioError('bad-request', 'Request body is not valid JSON'));
      }
    }
    let command: string;
    try {
      command = decodeURIComponent(rawCommand);
    } catch {
      return sendError(res, 400, studioError('bad-request', 'Malformed command name'));
    }
    const reply = await dispatch(command, args);
    sendJson(res, reply.ok ? 200 : statusFor(reply.error), reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) sendError(res, 500, studioError('internal', message, true));
      else res.destroy();
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${host}:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: () =>
      new Promise<void>((resolveClose, rejectClose) => {
        server.close((err) => (err ? rejectClose(err) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}

async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  staticDir: string,
  pathname: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendText(res, 405, 'Method not allowed');
  }
  const file = resolveStaticPath(staticDir, pathname);
  const info = file === null ? null : await stat(file).catch(() => null);
  if (file === null || info === null || !info.isFile()) return sendText(res, 404, 'Not found');
  res.writeHead(200, {
    ...STATIC_SECURITY_HEADERS,
    'Content-Type': contentTypeFor(file),
    'Content-Length': String(info.size),
    // index.html changes with each build; hashed assets could be cached, but a local tool gains nothing from it.
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(file);
    stream.on('error', fail);
    res.on('close', () => {
      stream.destroy();
      done();
    });
    stream.pipe(res);
  });
}

/** Reads the body as UTF-8, or null once it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => done(tooLarge ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function statusFor(error: StudioError): number {
  switch (error.code) {
    case 'bad-args':
    case 'bad-request':
      return 400;
    case 'unknown-command':
      return 404;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'unavailable':
      return 503;
    case 'internal':
      return 500;
  }
}

function sendJson(res: ServerResponse, status: number, body: StudioReply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, error: StudioError): void {
  sendJson(res, status, { ok: false, error });
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
