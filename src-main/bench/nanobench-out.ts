/**
 * A nanobench `--out` folder read back (by `--compare-to`, `odsora label-sheets`, `odsora label-agreement`): where
 * each clip lives, the slice of nanobench.json the readers need (validated), and the error every reader throws for a
 * file that is missing, is not JSON or does not validate, naming the file and the field.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';

/** Where `--out` puts one clip: `<out>/<setting>/p<prompt index>-s<seed>/` (frames/, video.png, video.gif). */
export const clipFolder = (outDir: string, setting: string, promptIndex: number, seed: number): string =>
  join(outDir, setting, `p${promptIndex}-s${seed}`);

/** One clip of a nanobench `--out` folder, as nanobench.json names it. */
export const clipRefSchema = z.object({
  setting: z.string(),
  promptIndex: z.number().int(),
  seed: z.number().int(),
  prompt: z.string(),
});
export type ClipRef = z.infer<typeof clipRefSchema>;

/** The slice of nanobench.json the readers need. */
const nanobenchSchema = z.object({
  format: z.literal('odsora-nanobench'),
  model: z.object({ dir: z.string() }),
  prompts: z.array(z.string()),
  clips: z.array(clipRefSchema),
});

/** A file that does not parse or validate: the message names the file and the field. */
export class BenchInputError extends Error {
  override name = 'BenchInputError';
}

/** `file: path.to[3].field: message` for the first issue of a failed parse. */
export function zodMessage(file: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const at =
    issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)) : [];
  return `${file}: ${at.join('').replace(/^\./, '') || '(top level)'}: ${issue.message}`;
}

/** Parses a JSON file; a missing or malformed file is a {@link BenchInputError} naming it. */
export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new BenchInputError(
      `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new BenchInputError(`${file}: not JSON (${(e as Error).message})`);
  }
}

/** A nanobench `--out` folder: its nanobench.json (validated), the block-set id of its model, and its clips. */
export async function readNanobenchOut(
  dir: string,
): Promise<{ file: string; blockset: string; prompts: string[]; clips: ClipRef[] }> {
  const file = join(dir, 'nanobench.json');
  const bench = nanobenchSchema.safeParse(await readJson(file));
  if (!bench.success) throw new BenchInputError(zodMessage(file, bench.error));
  return {
    file,
    blockset: basename(bench.data.model.dir),
    prompts: bench.data.prompts,
    clips: bench.data.clips,
  };
}
