/**
 * shared/report: the studio's report builder, pure TypeScript — run measurements from event logs, the
 * self-contained HTML report (inline SVG charts, data: PNG frames), and the JSON and CSV forms.
 */
export * from './measures';
export * from './model';
export * from './html';
export * from './svg';
export * from './axes';
export * from './run-fold';
export * from './trace-events';
export * from './placement';
export * from './sweep-figures';
export * from './sweep-svg';
export * from './sweep-html';
