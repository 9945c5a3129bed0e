// Serving the built renderer safely, shared by the Electron protocol handler and the web server: one CSP, one
// content-type table and one path check, so both hosts give the page the same rules.
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { REPORT_CSP } from '../../shared/report/html';

/**
 * The renderer's Content-Security-Policy: only its own scripts and styles, no inline script, no plugins, no
 * framing. `connect-src 'self'` covers the HTTP API and a same-origin WebSocket bridge.
 */
const STUDIO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every static response carries (the token sits in the page URL: never send it on as a Referer). */
export const STATIC_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': STUDIO_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.txt': 'text/plain; charset=utf-8',
  '.gif': 'image/gif',
  '.csv': 'text/csv; charset=utf-8',
  '.pdf': 'application/pdf',
};

/**
 * Headers of a report file (`/reports/<id>/<name>`): the report's own CSP (it has inline styles and data: images
 * and no script, which the studio's CSP would not allow), never framed, never sniffed, never cached.
 */
export function reportHeaders(file: string): Record<string, string> {
  return {
    'Content-Security-Policy': REPORT_CSP,
    'Content-Type': contentTypeFor(file),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

/** `/reports/<id>/<name>` split into id and name, or null for any other path. */
export function parseReportPath(pathname: string): { reportId: string; name: string } | null {
  const match = /^\/reports\/([^/]+)\/([^/]+)$/.exec(pathname);
  return match ? { reportId: match[1]!, name: match[2]! } : null;
}

/** The Content-Type for a file name; unknown kinds are served as opaque bytes. */
export function contentTypeFor(file: string): string {
  return contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Maps a URL path (`/assets/x.js`) to a file under `root`, or null when it would escape `root` (`..`, encoded
 * slashes, NUL). `/` maps to `index.html`.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const base = resolve(root);
  const file = resolve(base, rel);
  const inside = relative(base, file);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..'))
    return null;
  return file;
}

/** True when `path` is `root` itself or lies inside it (both absolute, already resolved). */
function isInside(root: string, path: string): boolean {
  const inside = relative(root, path);
  return inside !== '' && !isAbsolute(inside) && inside.split(sep)[0] !== '..';
}

/**
 * The file to serve for `file` (a path {@link resolveStaticPath} or a report service made under `root`): its real
 * path and size when, with every symbolic link resolved (the file's and its folders'), it is a regular file inside
 * `root`'s real path; null otherwise. So a link placed in the served folder cannot serve what lies outside it.
 */
export async function servableFile(
  root: string,
  file: string,
): Promise<{ path: string; bytes: number } | null> {
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
    if (!isInside(realRoot, realFile)) return null;
    const info = await stat(realFile);
    return info.isFile() ? { path: realFile, bytes: info.size } : null;
  } catch {
    return null;
  }
}
