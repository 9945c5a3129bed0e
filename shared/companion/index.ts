/** The transport-agnostic companion: event logs, pairing and access control. */
export * from './access';
export * from './event-log';
export * from './pairing';
