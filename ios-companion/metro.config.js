// Metro for the app inside the repository's npm workspace: it bundles the project's own `shared/` code in place
// (no copies) and the packages npm hoisted to the repository's node_modules.
const path = require('node:path');
const { getDefaultConfig, mergeConfig } = require('@react-native/metro-config');

const appRoot = __dirname;
const repoRoot = path.resolve(appRoot, '..');

// React Native 0.86 needs React 19.2.3 exactly (its renderer checks), while the studio at the repository root uses
// React 19.3: npm keeps the app's copy in ios-companion/node_modules. Every `react` import (react-native's own,
// hoisted to the root, included) must resolve to that copy, or the bundle would hold two Reacts.
const APP_ONLY = ['react'];

/** @type {import('@react-native/metro-config').MetroConfig} */
const config = {
  projectRoot: appRoot,
  watchFolders: [path.join(repoRoot, 'shared'), path.join(repoRoot, 'node_modules')],
  resolver: {
    nodeModulesPaths: [path.join(appRoot, 'node_modules'), path.join(repoRoot, 'node_modules')],
    resolveRequest: (context, moduleName, platform) => {
      const pkg = moduleName.split('/')[0];
      if (APP_ONLY.includes(pkg))
        return context.resolveRequest(
          { ...context, originModulePath: path.join(appRoot, 'package.json') },
          moduleName,
          platform,
        );
      return context.resolveRequest(context, moduleName, platform);
    },
  },
};

module.exports = mergeConfig(getDefaultConfig(appRoot), config);
