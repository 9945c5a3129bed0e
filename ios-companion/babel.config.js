// Metro's Babel preset for React Native (TypeScript is stripped here; `npm run typecheck` checks it), plus
// `export * as ns` (zod 4, which shared/ uses, ships it untranspiled).
module.exports = {
  presets: ['module:@react-native/babel-preset'],
  plugins: ['@babel/plugin-transform-export-namespace-from'],
};
