// The app's entry point (Metro bundles from here; ios/OdsoraCompanion/AppDelegate.swift loads "index").
import { AppRegistry } from 'react-native';
import App from './src/app';
import { name as appName } from './app.json';

AppRegistry.registerComponent(appName, () => App);
