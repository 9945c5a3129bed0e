/**
 * What `odsora companion` (and its `--replay` variant) prints and how it stops: log lines on stderr, pairing codes
 * on stderr (and as JSON lines on stdout with `--json`), shutdown on SIGINT/SIGTERM (and, with `--stop-with-stdin`,
 * when standard input closes: the parent that started it is gone, even if it was killed without a chance to say so).
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
  /**
   * Resolves after SIGINT/SIGTERM (or, with `stopWithStdin`, the end of standard input) has closed the host (a
   * failing close is reported, not thrown).
   */
  runUntilSignal(close: () => Promise<void>, opts?: { stopWithStdin?: boolean }): Promise<void>;
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
    runUntilSignal: (close, opts = {}) =>
      new Promise<void>((done) => {
        let stopping = false;
        const stop = (why: string): void => {
          if (stopping) return;
          stopping = true;
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          if (why !== '') err(`companion: ${why}`);
          close().then(done, (e: unknown) => {
            err(`companion: shutdown: ${(e as Error).message}`);
            done();
          });
        };
        const onSignal = (): void => stop('');
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        if (opts.stopWithStdin === true) {
          process.stdin.on('end', () =>
            stop('standard input closed (the process that started it is gone): stopping'),
          );
          process.stdin.on('error', () => stop('standard input failed: stopping'));
          process.stdin.resume();
        }
      }).then(() => {
        err('companion stopped');
        // stdin was being read: without this the process would wait for more of it.
        process.stdin.pause();
      }),
  };
}
