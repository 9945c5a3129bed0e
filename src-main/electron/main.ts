// Electron main process: the studio's one composition root. Builds the services, opens a locked-down window and
// answers the typed contract over IPC, checking who asks before validating what they ask.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BrowserWindow,
  app,
  ipcMain,
  protocol,
  session,
  type WebContents,
  type WebFrameMain,
} from 'electron';
import {
  STUDIO_CALL_CHANNEL,
  STUDIO_EVENT_CHANNEL,
  studioError,
  type StudioReply,
} from '../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../studio/services/index';
import { FollowedRuns } from '../studio/followed-runs';
import {
  STATIC_SECURITY_HEADERS,
  contentTypeFor,
  parseReportPath,
  reportHeaders,
  resolveStaticPath,
  servableFile,
} from '../studio/static-assets';

/** The built renderer is served from `odsora://studio/` rather than file://, so it gets a real origin and CSP. */
const APP_SCHEME = 'odsora';
const APP_HOST = 'studio';
/** Set by `electron-vite dev`: the renderer then comes from Vite's dev server. */
const devServerUrl = process.env['ELECTRON_RENDERER_URL'];
const rendererDir = join(__dirname, '../renderer');

/** Vite's dev server injects an inline React Refresh preamble and talks HMR over ws, so dev needs a looser CSP. */
const DEV_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; connect-src 'self' ws: http://localhost:* http://127.0.0.1:*; object-src 'none'";

/** True for a URL of the studio's own page (the built app, or the dev server in development). */
function isStudioUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (devServerUrl !== undefined) return url.origin === new URL(devServerUrl).origin;
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
}

/** True for a report file served at `odsora://studio/reports/<id>/<name>` (opened in its own window). */
function isReportUrl(raw: string): boolean {
  if (!isStudioUrl(raw) || devServerUrl !== undefined) return false;
  return parseReportPath(new URL(raw).pathname) !== null;
}

/** IPC is accepted only from the studio page's top frame, never from an iframe, a report or a page it navigated to. */
function isTrustedSender(frame: WebFrameMain | null): boolean {
  return frame !== null && frame.parent === null && isStudioUrl(frame.url) && !isReportUrl(frame.url);
}

/** A report in its own window: no preload, sandboxed, no script (the report has none). */
function openReportWindow(url: string): void {
  const win = new BrowserWindow({
    width: 1100,
    height: 800,
    title: 'Report',
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false },
  });
  void win.loadURL(url);
}

/** Prints an HTML report file to PDF in a hidden, script-less window. */
async function printToPdf(htmlPath: string): Promise<Uint8Array> {
  const win = new BrowserWindow({
    show: false,
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false },
  });
  try {
    await win.loadFile(htmlPath);
    return new Uint8Array(await win.webContents.printToPDF({ printBackground: true, pageSize: 'A4' }));
  } finally {
    win.destroy();
  }
}

async function startServices(): Promise<StudioServices> {
  const services = await createStudioServices({
    appVersion: app.getVersion(),
    platform: 'electron',
    electron: process.versions.electron,
    dataDir: process.env['ODSORA_STUDIO_DATA'] ?? join(app.getPath('userData'), 'studio'),
    log: (line) => console.log(line),
  });
  services.reports.setHost({
    url: (reportId, name) =>
      `${APP_SCHEME}://${APP_HOST}/reports/${encodeURIComponent(reportId)}/${encodeURIComponent(name)}`,
    printToPdf,
  });
  // Pushed updates go to the studio page's top frame only, never to a page it might have navigated to; a run's
  // events only to windows that follow it (`events.follow`).
  services.onEvent((event) => {
    for (const win of BrowserWindow.getAllWindows()) {
      const frame = win.webContents.mainFrame;
      if (isTrustedSender(frame) && followedBy(win.webContents).wants(event))
        win.webContents.send(STUDIO_EVENT_CHANNEL, event);
    }
  });
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    void services.close().finally(() => app.quit());
  });
  return services;
}

/** One channel for every command: the dispatcher checks the command name and its args, as on the web bridge. */
function registerIpc(services: StudioServices): void {
  const dispatch = services.dispatch;
  ipcMain.handle(
    STUDIO_CALL_CHANNEL,
    async (event, command: unknown, rawArgs: unknown): Promise<StudioReply> => {
      if (!isTrustedSender(event.senderFrame)) {
        return { ok: false, error: studioError('forbidden', 'IPC from an untrusted frame') };
      }
      return dispatch(command, rawArgs, followedBy(event.sender));
    },
  );
}

/** Each window's followed runs (a reloaded page asks again; a closed window's entry goes with it). */
const followed = new WeakMap<WebContents, FollowedRuns>();
function followedBy(contents: WebContents): FollowedRuns {
  let f = followed.get(contents);
  if (f === undefined) followed.set(contents, (f = new FollowedRuns()));
  return f;
}

function serveRendererProtocol(services: StudioServices): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const report = url.host === APP_HOST ? parseReportPath(url.pathname) : null;
    if (report !== null) {
      const path = services.reports.filePath(report.reportId, report.name);
      const served = path === null ? null : await servableFile(services.reports.reportsDir, path);
      if (served === null) return new Response('Not found', { status: 404 });
      try {
        return new Response(await readFile(served.path), { headers: reportHeaders(served.path) });
      } catch {
        return new Response('Not found', { status: 404 });
      }
    }
    const file = url.host === APP_HOST ? resolveStaticPath(rendererDir, url.pathname) : null;
    const served = file === null ? null : await servableFile(rendererDir, file);
    if (served === null) return new Response('Not found', { status: 404 });
    try {
      const body = await readFile(served.path);
      return new Response(body, {
        headers: { ...STATIC_SECURITY_HEADERS, 'Content-Type': contentTypeFor(served.path) },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}

function hardenSessions(): void {
  // The studio needs no camera, microphone, notifications or geolocation.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  if (devServerUrl !== undefined) {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [DEV_CSP] } });
    });
  }
  // Every web contents (including any created later) may not open windows, navigate away or embed webviews.
  app.on('web-contents-created', (_event, contents) => {
    // A report link opens in its own locked-down window; nothing else opens windows.
    contents.setWindowOpenHandler(({ url }) => {
      if (isReportUrl(url)) openReportWindow(url);
      return { action: 'deny' };
    });
    const blockForeign = (event: { preventDefault(): void }, url: string): void => {
      if (!isStudioUrl(url)) event.preventDefault();
      else if (isReportUrl(url) && isStudioUrl(contents.getURL()) && !isReportUrl(contents.getURL())) {
        // The studio page stays; the report opens beside it.
        event.preventDefault();
        openReportWindow(url);
      }
    };
    contents.on('will-navigate', blockForeign);
    contents.on('will-redirect', blockForeign);
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 900,
    minHeight: 600,
    title: 'On-device Sora Studio',
    backgroundColor: '#0f1115',
    show: false,
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(devServerUrl ?? `${APP_SCHEME}://${APP_HOST}/index.html`);
  return win;
}

// Sandbox every renderer, including any a dependency might create.
app.enableSandbox();
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  void app.whenReady().then(async () => {
    hardenSessions();
    const services = await startServices();
    serveRendererProtocol(services);
    registerIpc(services);
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
