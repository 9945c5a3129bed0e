/**
 * `odsora`: the command line of On-device Sora Studio. Each subcommand lives in ./commands and registers itself;
 * every subcommand has --help.
 */
import { Command, CommanderError } from 'commander';
import { ENGINE_VERSION } from '../../shared/engine/version';
import { registerCommands } from './commands';
import { configureOdsoraHelp } from './help';

const program = new Command();
program
  .name('odsora')
  .description('On-device Sora Studio: run and study Open-Sora v1.2 with LPL, TDTM and CI-DL')
  .version(ENGINE_VERSION, '-v, --version')
  .showHelpAfterError()
  .exitOverride();
configureOdsoraHelp(program);

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  console.error(`odsora: ${message}`);
  if (process.env['ODSORA_DEBUG'] && err instanceof Error) console.error(err.stack);
  process.exit(1);
});
