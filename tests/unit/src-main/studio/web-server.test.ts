import { request as httpRequest } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appInfoSchema, studioReplySchema } from '../../../../shared/protocol/studio-contract';
import { startWebStudio, type WebStudio } from '../../../../src-main/studio/web-server';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so tests can send the Host and Origin headers a browser (or an attacker) would. */
function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('web studio server', () => {
  let dir: string;
  let studio: WebStudio;

  const callApi = (command: string, init: { token?: string; origin?: string; body?: string } = {}) =>
    send(studio.port, {
      method: 'POST',
      path: `/api/${command}`,
      headers: {
        'Content-Type': 'application/json',
        ...(init.token !== undefined ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.origin !== undefined ? { Origin: init.origin } : {}),
      },
      body: init.body ?? '{}',
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odsora-web-studio-'));
    mkdirSync(join(dir, 'renderer', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>On-device Sora Studio</title>');
    writeFileSync(join(dir, 'renderer', 'assets', 'app.js'), 'console.log("studio");');
    writeFileSync(join(dir, 'secret.txt'), 'outside the static folder');
    studio = await startWebStudio({
      port: 0,
      host: '127.0.0.1',
      staticDir: join(dir, 'renderer'),
      appVersion: '9.8.7',
    });
  });

  afterAll(async () => {
    await studio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a loopback page URL carrying a 32-character base64url token', () => {
    expect(studio.url).toBe(`http://127.0.0.1:${studio.port}/?token=${studio.token}`);
    expect(studio.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('serves the built page with a strict Content-Security-Policy', async () => {
    const page = await send(studio.port, { path: `/?token=${studio.token}` });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('On-device Sora Studio');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');

    const script = await send(studio.port, { path: '/assets/app.js' });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('does not serve files outside the static folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const reply = await send(studio.port, { path });
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('outside the static folder');
    }
  });

  it('refuses an API call without the token with 401', async () => {
    const reply = await callApi('app.info');
    expect(reply.status).toBe(401);
    const parsed = studioReplySchema.parse(JSON.parse(reply.body));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('unauthorized');

    const wrong = await callApi('app.info', { token: 'x'.repeat(32) });
    expect(wrong.status).toBe(401);
  });

  it('refuses an API call from a foreign Origin with 403 even with the token', async () => {
    const reply = await callApi('app.info', { token: studio.token, origin: 'https://evil.example' });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const otherPort = await callApi('app.info', { token: studio.token, origin: 'http://127.0.0.1:1' });
    expect(otherPort.status).toBe(403);
  });

  it('refuses requests whose Host is not this server, which stops DNS rebinding', async () => {
    const reply = await send(studio.port, {
      method: 'POST',
      path: '/api/app.info',
      headers: { Host: `rebind.example:${studio.port}`, Authorization: `Bearer ${studio.token}` },
      body: '{}',
    });
    expect(reply.status).toBe(403);
    const page = await send(studio.port, { path: '/', headers: { Host: 'rebind.example' } });
    expect(page.status).toBe(403);
  });

  it('answers app.info with the token and the page’s own Origin', async () => {
    const reply = await callApi('app.info', { token: studio.token, origin: studio.origin });
    expect(reply.status).toBe(200);
    const parsed = studioReplySchema.parse(JSON.parse(reply.body));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      const info = appInfoSchema.parse(parsed.result);
      expect(info).toMatchObject({ appVersion: '9.8.7', platform: 'web' });
      expect(info.engineVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.electron).toBeUndefined();
    }
  });

  it('rejects invalid arguments with 400 and a message naming the bad field', async () => {
    const reply = await callApi('app.info', { token: studio.token, body: '{"verbose":true}' });
    expect(reply.status).toBe(400);
    const parsed = studioReplySchema.parse(JSON.parse(reply.body));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('bad-args');
      expect(parsed.error.message).toContain('verbose');
    }

    const notJson = await callApi('app.info', { token: studio.token, body: '{oops' });
    expect(notJson.status).toBe(400);
  });

  it('answers an unknown command with 404 and a typed error', async () => {
    const reply = await callApi('app.format-disk', { token: studio.token });
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
  });
});

describe('web studio report files', () => {
  let dir: string;
  let studio: WebStudio;
  let hostUrl: ((reportId: string, name: string, path: string) => string) | null = null;
  const reportId = '20261126T120000-0a1b2c3d';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odsora-web-reports-'));
    mkdirSync(join(dir, 'renderer'), { recursive: true });
    mkdirSync(join(dir, 'reports', reportId), { recursive: true });
    writeFileSync(
      join(dir, 'reports', reportId, 'report.html'),
      '<!doctype html><style>b{}</style><b>report</b>',
    );
    writeFileSync(join(dir, 'reports', reportId, 'steps.csv'), 'step\n0\n');
    studio = await startWebStudio({
      port: 0,
      host: '127.0.0.1',
      staticDir: join(dir, 'renderer'),
      reports: {
        reportsDir: join(dir, 'reports'),
        filePath: (id, name) =>
          id === reportId && ['report.html', 'steps.csv'].includes(name)
            ? join(dir, 'reports', id, name)
            : null,
        setHost: (host) => {
          hostUrl = host.url;
        },
      },
    });
  });

  afterAll(async () => {
    await studio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out same-origin URLs with a reports-only token, and serves the report with its own CSP', async () => {
    expect(hostUrl).not.toBeNull();
    const url = new URL(hostUrl!(reportId, 'report.html', '/ignored'));
    expect(url.origin).toBe(studio.origin);
    expect(url.pathname).toBe(`/reports/${reportId}/report.html`);
    expect(url.searchParams.get('token')).toBe(studio.reportsToken);
    expect(studio.reportsToken).not.toBe(studio.token);
    const page = await send(studio.port, { path: url.pathname + url.search });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<b>report</b>');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(
      /default-src 'none'; style-src 'unsafe-inline'; img-src data:/,
    );
    expect(page.headers['cache-control']).toBe('no-store');
    const csv = await send(studio.port, {
      path: `/reports/${reportId}/steps.csv?token=${studio.reportsToken}`,
    });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
  });

  it('refuses report files without the reports token, with the control token, or outside the report folder', async () => {
    const path = `/reports/${reportId}/report.html`;
    expect((await send(studio.port, { path })).status).toBe(401);
    expect((await send(studio.port, { path: `${path}?token=${studio.token}` })).status).toBe(401);
    expect((await send(studio.port, { path: `${path}?token=${studio.mirrorToken}` })).status).toBe(401);
    for (const bad of [
      `/reports/${reportId}/../secret`,
      `/reports/${reportId}/run.json`,
      `/reports/x/report.html`,
    ]) {
      const reply = await send(studio.port, { path: `${bad}?token=${studio.reportsToken}` });
      expect(reply.status, bad).toBe(404);
    }
    // The token does not open the API.
    const api = await send(studio.port, {
      method: 'POST',
      path: '/api/app.info',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${studio.reportsToken}` },
      body: '{}',
    });
    expect(api.status).toBe(401);
  });
});
