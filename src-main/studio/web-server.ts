// The studio for a plain browser: serves the built renderer, answers the contract over the WebSocket bridge at
// /bridge (ws-bridge.ts; what the page uses) and at POST /api/<command> (scripts, curl). Anything on this machine
// can reach 127.0.0.1, so every call needs a per-launch token, and the Host and Origin headers must name this
// server (stops DNS rebinding and cross-site pages from driving the studio). A second token opens a read-only
// mirror of the bridge: pushed events and read-only commands, nothing that changes the studio.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  STUDIO_BRIDGE_PATH,
  studioError,
  type StudioBridgeRole,
  type StudioError,
  type StudioEvent,
  type StudioReply,
} from '../../shared/protocol/studio-contract';
import type { ReportHost } from './services/reports';
import {
  STATIC_SECURITY_HEADERS,
  contentTypeFor,
  parseReportPath,
  reportHeaders,
  resolveStaticPath,
  servableFile,
} from './static-assets';
import { createStudioDispatch, createStudioHandlers, type StudioDispatch } from './studio-handlers';
import { createWsBridge, refuseUpgrade, type WsBridgeLimits } from './ws-bridge';

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
  /** Pushed updates to forward to every bridge connection (`StudioServices.onEvent`). */
  onEvent?: (listener: (event: StudioEvent) => void) => () => void;
  /** Overrides of the bridge's frame size, rate and buffering limits. */
  bridgeLimits?: Partial<WsBridgeLimits>;
  /**
   * The report files to serve at `/reports/<id>/<name>?token=<reports token>` (`StudioServices.reports`); the
   * server tells it the URLs to hand out. The reports token is a third per-launch token: it opens report files
   * only, so a report link that is shared does not give control of the studio.
   */
  reports?: {
    /** The folder report files are served from (nothing outside it is, symbolic links resolved). */
    readonly reportsDir: string;
    filePath(reportId: string, name: string): string | null;
    setHost(host: ReportHost): void;
  };
}

export interface WebStudio {
  /** The page URL including `?token=`; open this in a browser. Full control: treat it like a password. */
  readonly url: string;
  /** The read-only page URL including `?mirror=`: follows the studio, cannot change anything. */
  readonly mirrorUrl: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  /** The per-launch API token (base64url of 24 random bytes). */
  readonly token: string;
  /** The per-launch read-only mirror token (base64url of 24 random bytes, unrelated to `token`). */
  readonly mirrorToken: string;
  /** The per-launch token of report file URLs (opens `/reports/…` only). */
  readonly reportsToken: string;
  close(): Promise<void>;
}

/** Starts the web studio on loopback and resolves once it listens. */
export async function startWebStudio(options: WebStudioOptions): Promise<WebStudio> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const mirrorToken = randomBytes(24).toString('base64url');
  const mirrorTokenBytes = Buffer.from(mirrorToken);
  const reportsToken = randomBytes(24).toString('base64url');
  const reportsTokenBytes = Buffer.from(reportsToken);
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
    return matches(match?.[1], tokenBytes);
  };

  /** The Origin/Sec-Fetch-Site refusal shared by the HTTP API and the bridge, or null when the caller may go on. */
  const crossSiteRefusal = (req: IncomingMessage): StudioError | null => {
    const origin = req.headers.origin;
    // Browsers always send Origin on WebSocket handshakes and cross-origin fetches; non-browser clients need the
    // token anyway, so a missing Origin is allowed.
    if (origin !== undefined && !allowedOrigins().includes(origin)) {
      return studioError('forbidden', 'This Origin may not call the studio');
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      return studioError('forbidden', 'Cross-site requests may not call the studio');
    }
    return null;
  };

  const bridge = createWsBridge({
    dispatch,
    ...(options.onEvent !== undefined ? { onEvent: options.onEvent } : {}),
    ...(options.bridgeLimits !== undefined ? { limits: options.bridgeLimits } : {}),
  });

  /** Authenticates a WebSocket upgrade: right Host, path, Origin, and exactly one of `?token=` / `?mirror=`. */
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Errors on a socket not yet handed to ws would otherwise be unhandled (and crash the process).
    socket.on('error', () => socket.destroy());
    // Never log req.url here or anywhere: it carries the token.
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      return refuseUpgrade(socket, 403, 'Forbidden', studioError('forbidden', 'Unexpected Host header'));
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${host}:${port}`);
    } catch {
      return refuseUpgrade(socket, 400, 'Bad Request', studioError('bad-request', 'Malformed URL'));
    }
    if (url.pathname !== STUDIO_BRIDGE_PATH) {
      return refuseUpgrade(socket, 404, 'Not Found', studioError('not-found', 'No WebSocket endpoint here'));
    }
    const refusal = crossSiteRefusal(req);
    if (refusal !== null) return refuseUpgrade(socket, 403, 'Forbidden', refusal);
    const full = url.searchParams.getAll('token');
    const mirror = url.searchParams.getAll('mirror');
    let role: StudioBridgeRole | null = null;
    if (full.length === 1 && mirror.length === 0 && matches(full[0], tokenBytes)) role = 'control';
    else if (mirror.length === 1 && full.length === 0 && matches(mirror[0], mirrorTokenBytes))
      role = 'mirror';
    if (role === null) {
      return refuseUpgrade(
        socket,
        401,
        'Unauthorized',
        studioError('unauthorized', 'Missing or wrong studio token'),
      );
    }
    bridge.accept(req, socket, head, role);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding: a foreign name resolving to 127.0.0.1 still sends its own name as Host.
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      return sendError(res, 403, studioError('forbidden', 'Unexpected Host header'));
    }
    const url = new URL(req.url ?? '/', `http://${host}:${port}`);
    if (url.pathname.startsWith('/api/')) return handleApi(req, res, url.pathname.slice('/api/'.length));
    if (url.pathname.startsWith('/reports/')) return serveReport(req, res, url);
    return serveStatic(req, res, options.staticDir, url.pathname);
  };

  const serveReport = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Method not allowed');
    }
    const tokens = url.searchParams.getAll('token');
    if (tokens.length !== 1 || !matches(tokens[0], reportsTokenBytes))
      return sendText(res, 401, 'Missing or wrong report token');
    const parts = parseReportPath(url.pathname);
    const reports = options.reports;
    const file = parts && reports ? reports.filePath(parts.reportId, parts.name) : null;
    const served = file === null || !reports ? null : await servableFile(reports.reportsDir, file);
    if (served === null) return sendText(res, 404, 'Not found');
    res.writeHead(200, { ...reportHeaders(served.path), 'Content-Length': String(served.bytes) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeFile(res, served.path);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, rawCommand: string): Promise<void> => {
    const refusal = crossSiteRefusal(req);
    if (refusal !== null) return sendError(res, 403, refusal);
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
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      handleUpgrade(req, socket, head);
    } catch {
      socket.destroy();
    }
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
  options.reports?.setHost({
    // Same origin as the page, so the renderer can open and download them; the token opens report files only.
    url: (reportId, name) =>
      `${origin}/reports/${encodeURIComponent(reportId)}/${encodeURIComponent(name)}?token=${reportsToken}`,
  });

  return {
    url: `${origin}/?token=${token}`,
    mirrorUrl: `${origin}/?mirror=${mirrorToken}`,
    origin,
    port,
    token,
    mirrorToken,
    reportsToken,
    close: async () => {
      // Upgraded sockets are no longer the http server's: the bridge closes them, then the server stops.
      await bridge.close();
      await new Promise<void>((resolveClose, rejectClose) => {
        server.close((err) => (err ? rejectClose(err) : resolveClose()));
        server.closeAllConnections();
      });
    },
  };
}

/** Constant-time comparison of a presented token with the expected one. */
function matches(given: string | undefined, expected: Buffer): boolean {
  if (given === undefined || given === '') return false;
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
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
  const served = file === null ? null : await servableFile(staticDir, file);
  if (served === null) return sendText(res, 404, 'Not found');
  res.writeHead(200, {
    ...STATIC_SECURITY_HEADERS,
    'Content-Type': contentTypeFor(served.path),
    'Content-Length': String(served.bytes),
    // index.html changes with each build; hashed assets could be cached, but a local tool gains nothing from it.
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeFile(res, served.path);
}

/** Streams a file into the response. */
function pipeFile(res: ServerResponse, file: string): Promise<void> {
  return new Promise<void>((done, fail) => {
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
