/**
 * What `odsora companion` (and its `--replay` variant) prints and how it stops: log lines on stderr, pairing codes
 * on stderr (and as JSON lines on stdout with `--json`), shutdown on SIGINT/SIGTERM.
 */

/** The console side of a running companion command. */
export interface CompanionConsole {
  /** One line on stderr. */
  err(line: string): void;
  /** `log` option of the hosts: a prefixed stderr line. */
  log(line: string): void;
  /** `onPairingCode` option of the hosts: fresh codes after start-up (the first one is printed by `started`). */
  onPairingCode(code: string, expiresInMs: number): void;
  /** Marks the host as started and prints its listening line, pairing code and (with --json) its start record. */
  started(listening: readonly string[], pairingCode: string, record: Record<string, unknown>): void;
  /** Resolves after SIGINT/SIGTERM has closed the host (a failing close is reported, not thrown). */
  runUntilSignal(close: () => Promise<void>): Promise<void>;
}

/** A console for one companion command; `json` mirrors start-up and pairing codes as JSON lines on stdout. */
export function companionConsole(json: boolean): CompanionConsole {
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  const out = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  let isStarted = false;
  return {
    err,
    log: (line) => err(`companion: ${line}`),
    onPairingCode: (code, expiresInMs) => {
      if (!isStarted) return;
      err(`pairing code: ${code} (valid ${Math.round(expiresInMs / 1000)} s)`);
      if (json) out({ event: 'pairing-code', pairingCode: code, expiresInMs });
    },
    started: (listening, pairingCode, record) => {
      isStarted = true;
      for (const line of listening) err(line);
      err(`pairing code: ${pairingCode}`);
      if (json) out(record);
    },
    runUntilSignal: (close) =>
      new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          close().then(done, (e: unknown) => {
            err(`companion: shutdown: ${(e as Error).message}`);
            done();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }).then(() => err('companion stopped')),
  };
}
