/** The wire protocol between the studio and companion devices (docs/protocol.md). */
export * from './auth';
export * from './binary-frame';
export * from './device';
export * from './engine-events';
export * from './errors';
export * from './handshake';
export * from './limits';
export * from './messages';
export * from './parse';
export * from './run';
