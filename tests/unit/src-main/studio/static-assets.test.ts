// Symbolic links in the folders the web studio serves (the built renderer, report folders), over a real HTTP
// server and real files: a link that leads outside the served folder is not followed (404); one that stays inside
// still works.
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebStudio, type WebStudio } from '../../../../src-main/studio/web-server';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = 'a file outside every served folder';
const reportId = '20261207T120000-0a1b2c3d';
const linkedId = '20261207T120000-deadbeef';
let dir: string;
let studio: WebStudio;
let reportUrl: (id: string, name: string) => string = () => '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'odsora-served-links-'));
  const renderer = join(dir, 'renderer');
  const reports = join(dir, 'reports');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  mkdirSync(join(reports, reportId), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'elsewhere', 'report.html'), SECRET);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
  // Links placed in the served folders: out to a file, out through a folder, and one that stays inside.
  symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets', 'leak.js'));
  symlinkSync(join(dir, 'elsewhere'), join(renderer, 'outside'));
  symlinkSync(join(renderer, 'index.html'), join(renderer, 'assets', 'alias.html'));
  symlinkSync(join(dir, 'secret.txt'), join(reports, reportId, 'report.html'));
  writeFileSync(join(reports, reportId, 'steps.csv'), 'step\n0\n');
  symlinkSync(join(dir, 'elsewhere'), join(reports, linkedId));
  studio = await startWebStudio({
    port: 0,
    host: '127.0.0.1',
    staticDir: renderer,
    reports: {
      reportsDir: reports,
      filePath: (id, name) => join(reports, id, name),
      setHost: (host) => {
        reportUrl = (id, name) =>
          new URL(host.url(id, name, '')).pathname + new URL(host.url(id, name, '')).search;
      },
    },
  });
});

afterAll(async () => {
  await studio?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('served folders and symbolic links', () => {
  it('does not follow a link in the renderer folder to a file or folder outside it', async () => {
    for (const path of ['/assets/leak.js', '/outside/report.html']) {
      const reply = await get(studio.port, path);
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain(SECRET);
    }
    const inside = await get(studio.port, '/assets/alias.html');
    expect(inside.status).toBe(200);
    expect(inside.body).toContain('<title>studio</title>');
  });

  it('does not follow a link in a report folder, or a report folder that is a link, outside the reports', async () => {
    for (const [id, name] of [
      [reportId, 'report.html'],
      [linkedId, 'report.html'],
    ] as const) {
      const reply = await get(studio.port, reportUrl(id, name));
      expect(reply.status, `${id}/${name}`).toBe(404);
      expect(reply.body).not.toContain(SECRET);
    }
    expect((await get(studio.port, reportUrl(reportId, 'steps.csv'))).status).toBe(200);
  });
});
