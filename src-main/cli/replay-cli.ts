/**
 * The `--replay` flags of `odsora companion` (registered by cli/commands/companion.ts): with `--replay <log>` the
 * command runs {@link startReplayCompanion} instead of the engine host, with the same address, data, advertising
 * `--thermal-file` and `--json` flags.
 */
import { resolve } from 'node:path';
import { companionConsole } from './companion-console';
import { InvalidArgumentError, Option } from 'commander';
import { startReplayCompanion } from '../companion/replay-host';

/** The flags the replay mode reads. */
export interface ReplayFlags {
  replay?: string;
  replayRate?: number;
  replayCount?: number;
  name?: string;
  host: string;
  port: number;
  data?: string;
  loopback?: boolean;
  advertise: boolean;
  json?: boolean;
  thermalFile?: string;
}

const positive =
  (flag: string, integer: boolean) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(
        `${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`,
      );
    return n;
  };

/** The `--replay`, `--replay-rate` and `--replay-count` options of the companion command. */
export const REPLAY_OPTIONS = {
  log: new Option(
    '--replay <events.jsonl>',
    'replay this recorded event log (a run folder events.jsonl) for every run instead of running the model',
  ),
  rate: new Option('--replay-rate <n>', 'replayed events per second (default 200)').argParser(
    positive('--replay-rate', false),
  ),
  count: new Option(
    '--replay-count <n>',
    'events per replayed run (default: the whole log, repeated if shorter)',
  ).argParser(positive('--replay-count', true)),
};

/** Runs the replay companion until SIGINT/SIGTERM; prints like `odsora companion` does. */
export async function runReplayCompanion(flags: ReplayFlags & { replay: string }): Promise<void> {
  const io = companionConsole(flags.json === true);
  const host = await startReplayCompanion({
    logPath: resolve(flags.replay),
    ...(flags.replayRate !== undefined ? { ratePerSecond: flags.replayRate } : {}),
    ...(flags.replayCount !== undefined ? { count: flags.replayCount } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    host: flags.host,
    port: flags.port,
    ...(flags.data !== undefined ? { dataDir: resolve(flags.data) } : {}),
    loopback: flags.loopback === true,
    advertise: flags.advertise,
    ...(flags.thermalFile === undefined ? {} : { thermalFile: resolve(flags.thermalFile) }),
    log: io.log,
    onPairingCode: io.onPairingCode,
  });
  io.started(
    [
      `replay companion ${host.name} (${host.id}) listening on ws://${flags.host}:${host.port}/: ` +
        `${host.replay.events} events per run at ${host.replay.ratePerSecond}/s from ${flags.replay}`,
    ],
    host.pairingCode,
    {
      port: host.port,
      id: host.id,
      name: host.name,
      pairingCode: host.pairingCode,
      timeOriginEpochMs: host.timeOriginEpochMs,
      replay: host.replay,
    },
  );
  await io.runUntilSignal(() => host.close());
}
