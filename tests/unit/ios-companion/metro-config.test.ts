// The app's Metro config inside the npm workspace: React Native 0.86.3 needs React 19.2.3 exactly while the studio
// uses 19.3, so the app's copy must stay in ios-companion/node_modules and every `react` import must resolve there.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const appRoot = join(__dirname, '..', '..', '..', 'ios-companion');
const repoRoot = join(appRoot, '..');
const load = createRequire(join(appRoot, 'package.json'));

interface Ctx {
  originModulePath: string;
  resolveRequest: (ctx: Ctx, name: string, platform: string) => unknown;
}

describe('the app Metro config', () => {
  it('installs the React that React Native 0.86.3 pins, beside the studio React', () => {
    const appReact = load('react/package.json') as { version: string };
    const rnPeer = (load('react-native/package.json') as { peerDependencies: Record<string, string> })
      .peerDependencies;
    expect(appReact.version).toBe('19.2.3');
    expect(rnPeer['react']).toBe('^19.2.3');
    const studioReact = createRequire(join(repoRoot, 'package.json'))('react/package.json') as {
      version: string;
    };
    expect(studioReact.version).not.toBe(appReact.version); // why the override below is needed
  });

  it("resolves react imports from react-native's hoisted files to the app's copy, and watches shared/", () => {
    const config = load('./metro.config.js') as {
      watchFolders: string[];
      resolver: { resolveRequest: (ctx: Ctx, name: string, platform: string) => unknown };
    };
    expect(config.watchFolders).toContain(join(repoRoot, 'shared'));
    const seen: [string, string][] = [];
    const ctx: Ctx = {
      originModulePath: join(
        repoRoot,
        'node_modules',
        'react-native',
        'Libraries',
        'Core',
        'InitializeCore.js',
      ),
      resolveRequest: (c, name) => seen.push([c.originModulePath, name]),
    };
    config.resolver.resolveRequest(ctx, 'react', 'ios');
    config.resolver.resolveRequest(ctx, 'react/jsx-runtime', 'ios');
    config.resolver.resolveRequest(ctx, 'react-native-fs', 'ios');
    expect(seen).toEqual([
      [join(appRoot, 'package.json'), 'react'],
      [join(appRoot, 'package.json'), 'react/jsx-runtime'],
      [ctx.originModulePath, 'react-native-fs'],
    ]);
  });
});
