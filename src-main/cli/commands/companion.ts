/**
 * `odsora companion`: runs this machine as a companion device (src-main/companion): advertises `_odsora._tcp`,
 * serves the wire protocol (docs/protocol.md) over WebSockets and runs the engine in a child process. Prints the
 * pairing code and the listening and announced addresses on stderr; with `--json`, a JSON line `{port, id, name,
 * pairingCode, addresses}` on stdout at start-up and `{event: "pairing-code", pairingCode, expiresInMs}` for each
 * later code. Stops cleanly on
 * SIGINT / SIGTERM (running runs end with `run.interrupted`, reason `shutdown`). Block sets the studio pushes
 * (model sync) are installed under `--blocksets` (default `<data>/blocksets/<name>`); start the companion with
 * `--models <that folder>` to run them.
 */
import { resolve } from 'node:path';
import { companionConsole } from '../companion-console';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { parseBudget, parseByteSize, type RequestBudgetSpec } from '../../../shared/engine/cidl/budget';
import { DEFAULT_CANCEL_DEADLINE_MS } from '../../../shared/companion/server-ports';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from '../../../shared/engine/execution-provider';
import { defaultDataDir, startCompanionHost, type CompanionHost } from '../../companion/host';
import { BUILTIN_DEVICE_NICE, lowerPriority, MAX_NICE } from '../../companion/priority';
import { PROFILE_NAMES, type ProfileName } from '../../companion/profiles';
import { REPLAY_OPTIONS, runReplayCompanion, type ReplayFlags } from '../replay-cli';
import { examples } from '../help';

interface CompanionFlags {
  name?: string;
  port: number;
  host: string;
  profile: ProfileName;
  memoryBudget?: RequestBudgetSpec;
  memoryLimit?: number;
  model?: string;
  models?: string;
  data?: string;
  blocksets?: string;
  loopback?: boolean;
  advertise: boolean;
  threads?: number;
  ep?: ExecutionProviderName;
  cancelDeadline?: number;
  thermalFile?: string;
  json?: boolean;
  stopWithStdin?: boolean;
  nice?: number;
}

const portArg = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`--port must be an integer in 0..65535, got '${v}'`);
  return n;
};

const budgetArg = (v: string): RequestBudgetSpec => {
  try {
    return parseBudget(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const memoryLimitArg = (v: string): number => {
  try {
    return parseByteSize(v, '--memory-limit');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const niceArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_NICE)
    throw new InvalidArgumentError(`--nice must be an integer from 0 to ${MAX_NICE}, got '${v}'`);
  return n;
};

const threadsArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--threads must be ≥ 1, got '${v}'`);
  return n;
};

const deadlineArg = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 600_000)
    throw new InvalidArgumentError(`--cancel-deadline must be milliseconds in 0..600000, got '${v}'`);
  return n;
};

/** Adds `odsora companion`. */
export function registerCompanion(program: Command): void {
  program
    .command('companion')
    .description('run this machine as a companion device: pairable, drivable and watchable by the studio')
    .option('--name <name>', 'device name shown to the studio')
    .option('--port <n>', 'WebSocket port (0 = any free port)', portArg, 0)
    .option(
      '--host <addr>',
      'address to listen on: 127.0.0.1 = this machine only (announced as 127.0.0.1, on loopback); 0.0.0.0 = reachable from the network, e.g. a phone (announced with the machine’s addresses; anyone on the network can connect and ask for a pairing code)',
      '127.0.0.1',
    )
    .addOption(
      new Option('--profile <profile>', 'device profile').choices([...PROFILE_NAMES]).default('desktop'),
    )
    .option(
      '--memory-budget <spec>',
      'CI-DL budget: bytes (512MiB) cap every run (and replace the profile limit); all, auto, 50% set the default',
      budgetArg,
    )
    .option(
      '--memory-limit <size>',
      'a whole-process memory limit for every run, e.g. 3.3GB (the iphone-15-pro profile sets 3.3GB itself for a full-size Open-Sora v1.2)',
      memoryLimitArg,
    )
    .option('--model <dir>', 'model directory or converted block set (default: the bundled Open-Sora Nano)')
    .option('--models <dir>', 'the same as --model')
    .option('--data <dir>', `event logs and pairing keys (default ${defaultDataDir()})`)
    .option(
      '--blocksets <dir>',
      'where block sets pushed by the studio (model sync) go (default <data>/blocksets)',
    )
    .option(
      '--loopback',
      'keep the Bonjour announcement on the loopback interface whatever --host is (tests)',
    )
    .option('--no-advertise', 'do not advertise over Bonjour')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', threadsArg)
    .option(
      '--nice <n>',
      `run at a lower CPU priority, nice 0-${MAX_NICE} (engine processes and threads too): the studio starts its built-in device at ${BUILTIN_DEVICE_NICE} (and, on Linux, under SCHED_IDLE) so inference never starves its UI`,
      niceArg,
    )
    .addOption(
      new Option(
        '--ep <provider>',
        'ONNX Runtime execution provider (default: cpu; the gpu profile: cuda, or coreml on macOS); a missing provider stops the companion with how to install it',
      ).choices([...EXECUTION_PROVIDERS]),
    )
    .option(
      '--cancel-deadline <ms>',
      `how long a cancelled run's engine may take to stop before the run ends anyway and the engine process is killed (default ${DEFAULT_CANCEL_DEADLINE_MS})`,
      deadlineArg,
    )
    .option(
      '--thermal-file <path>',
      "read the device's thermal state from this file (nominal, fair, serious, critical or unknown; read afresh each time, missing = unknown) instead of the OS: a device whose thermal state a test or demo drives",
    )
    .option('--json', 'print {port, id, name, pairingCode, addresses} as one JSON line on stdout')
    .option(
      '--stop-with-stdin',
      'stop when standard input closes: for a process that starts the companion as its child (the studio does for its built-in device), so the companion never outlives it',
    )
    .addOption(REPLAY_OPTIONS.log)
    .addOption(REPLAY_OPTIONS.rate)
    .addOption(REPLAY_OPTIONS.count)
    .addHelpText(
      'after',
      examples([
        {
          what: 'a companion for a studio on this machine (found over Bonjour; reachable from here only)',
          args: 'companion --name lab-phone',
        },
        {
          what: 'a companion other machines on your network can reach (see the README for the trade-off)',
          args: 'companion --name lab-phone --host 0.0.0.0 --port 7400',
        },
        {
          what: "the baseline host on this machine's GPU (CUDA; Core ML on macOS): see the README for installing the provider",
          args: 'companion --profile gpu --name lab-gpu',
        },
        {
          what: 'a simulated iPhone 15 Pro running a full-size model under 3.3 GB',
          args: 'companion --profile iphone-15-pro --model ~/blocksets/opensora-v1.2',
        },
      ]),
    )
    .action(async (flags: CompanionFlags & ReplayFlags) => {
      if (flags.nice !== undefined) lowerPriority(flags.nice);
      if (flags.replay !== undefined) return runReplayCompanion({ ...flags, replay: flags.replay });
      const io = companionConsole(flags.json === true);
      const host = await startCompanionHost({
        name: flags.name,
        host: flags.host,
        port: flags.port,
        profile: flags.profile,
        memoryBudget: flags.memoryBudget ?? null,
        memoryLimitBytes: flags.memoryLimit ?? null,
        models:
          (flags.model ?? flags.models) !== undefined
            ? resolve((flags.model ?? flags.models) as string)
            : undefined,
        dataDir: flags.data ? resolve(flags.data) : undefined,
        blockSetsDir: flags.blocksets ? resolve(flags.blocksets) : undefined,
        loopback: flags.loopback === true,
        advertise: flags.advertise,
        threads: flags.threads,
        ...(flags.ep === undefined ? {} : { ep: flags.ep }),
        ...(flags.cancelDeadline === undefined ? {} : { cancelDeadlineMs: flags.cancelDeadline }),
        ...(flags.thermalFile === undefined ? {} : { thermalFile: resolve(flags.thermalFile) }),
        log: io.log,
        onPairingCode: io.onPairingCode,
      });
      io.started(
        [
          `companion ${host.name} (${host.id}, profile ${host.profile.name}) listening on ws://${flags.host}:${host.port}/`,
          announcedLine(host.advertised, host.port),
          ...(host.profile.limitBytes !== null
            ? [
                host.profile.limitKind === 'process'
                  ? `memory limit for the whole process: ${host.profile.limitBytes} bytes (each stage's blocks get what it leaves)`
                  : `memory limit applied to CI-DL budgets: ${host.profile.limitBytes} bytes`,
              ]
            : []),
        ],
        host.pairingCode,
        {
          port: host.port,
          id: host.id,
          name: host.name,
          pairingCode: host.pairingCode,
          addresses: host.advertised?.addresses ?? [],
        },
      );
      await io.runUntilSignal(() => host.close(), { stopWithStdin: flags.stopWithStdin === true });
    });
}

/** Where the announcement says the companion is, and who can reach it. */
function announcedLine(advertised: CompanionHost['advertised'], port: number): string {
  if (advertised === null)
    return 'not announced over Bonjour (--no-advertise): add it in the studio by address';
  const at = advertised.addresses.map((a) => `${a.includes(':') ? `[${a}]` : a}:${port}`).join(', ');
  return advertised.loopbackOnly
    ? `announced over Bonjour as ${at}: reachable from this machine only (--host 0.0.0.0 for a phone)`
    : `announced over Bonjour as ${at}: reachable from the network`;
}
