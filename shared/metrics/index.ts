/**
 * shared/metrics: video quality and prompt-adherence metrics, pure TypeScript (see README.md).
 */
export * from './video';
export * from './quality';
export * from './colour';
export * from './vocabulary';
export * from './analysis';
export * from './adherence';
export * from './temporal';
export * from './percentile';
