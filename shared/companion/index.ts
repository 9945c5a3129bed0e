/** The transport-agnostic companion: event logs, pairing, access control and the protocol server. */
export * from './access';
export * from './event-log';
export * from './model-sync';
export * from './pairing';
export * from './server';
