/**
 * What every `odsora` command's `--help` shows beyond Commander's defaults: required options marked `(required)`,
 * and an `Examples:` section (every command has one; tests/integration/cli/help.test.ts checks each example's flags
 * against the command's options).
 */
import { Help, type Command, type Option } from 'commander';

/** One example: what it does, then the command line (without the leading `odsora`). */
export interface HelpExample {
  what: string;
  args: string;
}

/** Marks required options in the help of `program` and of every command added to it afterwards. */
export function configureOdsoraHelp(program: Command): Command {
  return program.configureHelp({
    optionDescription(this: Help, option: Option): string {
      const text = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `${text} (required)` : text;
    },
  });
}

/** The `Examples:` section of a command's help: `.addHelpText('after', examples([...]))`. */
export function examples(list: readonly HelpExample[]): string {
  const lines = list.flatMap((e) => [`  # ${e.what}`, `  $ odsora ${e.args}`]);
  return `\nExamples:\n${lines.join('\n')}`;
}
