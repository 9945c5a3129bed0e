/** Registers every `odsora` subcommand. */
import type { Command } from 'commander';
import { registerBench } from './bench';
import { registerCompanion } from './companion';
import { registerConvert } from './convert';
import { registerGenerate } from './generate';
import { registerGraphs } from './graphs';
import { registerLabelAgreement } from './label-agreement';
import { registerLabelSheets } from './label-sheets';
import { registerNanobench } from './nanobench';
import { registerStudio } from './studio';
import { registerSweep } from './sweep';
import { registerSweepReport } from './sweep-report';
import { registerSynthCheckpoint } from './synth-checkpoint';
import { registerTrace } from './trace';
import { registerVerifyFixture } from './verify-fixture';

/** Adds all subcommands to the program. */
export function registerCommands(program: Command): void {
  registerSynthCheckpoint(program);
  registerConvert(program);
  registerVerifyFixture(program);
  registerGraphs(program);
  registerGenerate(program);
  registerNanobench(program);
  registerLabelAgreement(program);
  registerLabelSheets(program);
  registerTrace(program);
  registerBench(program);
  registerStudio(program);
  registerCompanion(program);
  registerSweep(program);
  registerSweepReport(program);
}
