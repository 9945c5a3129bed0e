/** `odsora trace`: a run folder as a Chrome / Perfetto trace (docs/trace.md). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readRunTrace, RunTraceError, writeTraceFile } from '../../studio/services/run-trace';
import { examples } from '../help';

/** Registers `odsora trace`. */
export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description(
      'Write a run as a Chrome / Perfetto trace (Trace Event Format JSON: stages, steps, block loads, computes and releases, resident bytes); RUN_DIR is a studio run folder (run.json + events.jsonl) or the folder `odsora generate --out` wrote. Open it at ui.perfetto.dev or chrome://tracing; exit 1 on a missing or damaged file',
    )
    .argument('<RUN_DIR>', 'the run folder')
    .requiredOption('--out <file>', 'the trace file to write (replaced atomically), e.g. run.trace.json')
    .addHelpText(
      'after',
      examples([
        {
          what: 'a clip, then its trace',
          args: 'trace out/red-circle --out out/red-circle.trace.json',
        },
        {
          what: 'a run the studio kept',
          args: 'trace ~/.local/share/odsora/studio/runs/<runId> --out run.trace.json',
        },
      ]),
    )
    .action(async (runDir: string, flags: { out: string }) => {
      try {
        const { trace, source, events } = await readRunTrace(resolve(runDir));
        const out = resolve(flags.out);
        const bytes = await writeTraceFile(out, trace);
        const n = (cat: string): number => trace.traceEvents.filter((e) => e.cat === cat).length;
        console.log(
          `wrote ${out} (${bytes} bytes) from the ${events} events of a run (${source}): ` +
            `${n('stage')} stages, ${n('step')} steps, ${n('compute')} block computes, ${n('load')} loads, ` +
            `${n('release')} releases. Open it at https://ui.perfetto.dev (Open trace file) or chrome://tracing`,
        );
      } catch (e) {
        if (!(e instanceof RunTraceError)) throw e;
        console.error(`odsora trace: ${e.message}`);
        process.exitCode = 1;
      }
    });
}
