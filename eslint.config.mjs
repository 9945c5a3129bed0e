// Lint with import boundaries: each folder may only import what its runtime has (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import pluginQuery from '@tanstack/eslint-plugin-query';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];
const hostOnly = [
  'electron',
  'ws',
  'bonjour-service',
  'react',
  'react-dom',
  'react-native',
  'onnxruntime-node',
  'onnxruntime-web',
  'onnxruntime-react-native',
  'onnxruntime-common',
];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'coverage/', 'ios-companion/node_modules/', 'tools/**/*.py'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...hostOnly].map((name) => ({
            name,
            message: 'shared/ is pure TypeScript.',
          })),
          patterns: [
            { group: ['node:*'], message: 'shared/ may not import Node built-ins.' },
            {
              group: ['**/src-main/**', '**/src-renderer/**', '**/ios-companion/**'],
              message: 'shared/ may not import a host.',
            },
            {
              group: ['onnxruntime*', 'react-native*', '@electron/*'],
              message: 'shared/ is pure TypeScript.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', '__dirname', 'window', 'document'],
    },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['electron', 'onnxruntime-node', 'ws', 'bonjour-service', ...nodeBuiltins].map((name) => ({
            name,
            message: 'The renderer reaches main only through the typed contract.',
          })),
          patterns: [
            { group: ['node:*', '**/src-main/**'], message: 'The renderer may not import Node or main.' },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src-main/**/*.ts',
      'tests/**/*.{ts,tsx}',
      'scripts/**/*.mjs',
      'tools/**/*.{mjs,ts}',
      '*.config.{ts,mjs}',
    ],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['bin/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Exactly one file per host imports the inference runtime.
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/adapters/onnxruntime-backend.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'onnxruntime-node',
              message: 'Only src-main/adapters/onnxruntime-backend.ts imports onnxruntime-node.',
            },
          ],
        },
      ],
    },
  },
  {
    // The iPhone app's tools run on the studio's computer (Node).
    files: ['ios-companion/tools/**/*.{ts,mjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // The iPhone app's Metro and Babel configs are CommonJS run by Node.
    files: ['ios-companion/*.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The iPhone app: no Node built-ins anywhere; no engine/protocol/companion code of its own (it imports shared/).
    files: ['ios-companion/src/**/*.{ts,tsx}'],
    ignores: ['ios-companion/src/engine/ort-react-native.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...[...nodeBuiltins, 'ws', 'bonjour-service', 'onnxruntime-node'].map((name) => ({
              name,
              message: 'The iPhone app runs on Hermes: no Node modules.',
            })),
            {
              name: 'onnxruntime-react-native',
              message: 'Only ios-companion/src/engine/ort-react-native.ts imports onnxruntime-react-native.',
            },
          ],
          patterns: [
            { group: ['node:*'], message: 'The iPhone app runs on Hermes: no Node built-ins.' },
            { group: ['**/src-main/**', '**/src-renderer/**'], message: 'The app may import shared/ only.' },
          ],
        },
      ],
    },
  },
  {
    // Portable parts of the app (codec, host, stores, engine adapters): no React Native, so they run on Node in tests.
    files: ['ios-companion/src/{ws,host,storage,engine}/**/*.ts'],
    ignores: ['ios-companion/src/engine/ort-react-native.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'ws', 'bonjour-service', 'onnxruntime-node'].map((name) => ({
            name,
            message: 'The iPhone app runs on Hermes: no Node modules.',
          })),
          patterns: [
            { group: ['node:*'], message: 'The iPhone app runs on Hermes: no Node built-ins.' },
            { group: ['**/src-main/**', '**/src-renderer/**'], message: 'The app may import shared/ only.' },
            {
              group: ['react-native', 'react-native-*', 'onnxruntime-react-native', 'react'],
              message:
                'Portable app code: React Native imports belong in ios-companion/src/native, screens or app.',
            },
          ],
        },
      ],
    },
  },
  {
    // React's rules of hooks in both React rooms (the studio's renderer and the iPhone app's screens).
    files: ['src-renderer/**/*.{ts,tsx}', 'ios-companion/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  // TanStack Query's own rules where the studio uses it.
  ...pluginQuery.configs['flat/recommended'].map((c) => ({ ...c, files: ['src-renderer/**/*.{ts,tsx}'] })),
  {
    // Promises that are neither awaited nor handled, and promises passed where nothing waits for them (type-aware).
    files: ['shared/**/*.ts', 'src-main/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    // No import cycles anywhere in the product; the composition roots in src-main/{companion,devices,studio} never
    // reach into the command line.
    files: [
      'shared/**/*.ts',
      'src-main/**/*.ts',
      'src-renderer/**/*.{ts,tsx}',
      'ios-companion/src/**/*.{ts,tsx}',
    ],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: ['companion', 'devices', 'studio'].map((room) => ({
            target: `./src-main/${room}`,
            from: './src-main/cli',
            message: 'src-main/{companion,devices,studio} never import the command line (src-main/cli).',
          })),
        },
      ],
    },
  },
);
