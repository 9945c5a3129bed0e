/**
 * The one typed contract between the studio's renderer and its main side (Electron IPC, or HTTP/WebSocket when the
 * studio is served to a plain browser). Each command has an args schema and a result schema; both ends validate
 * with them. Adding a command here makes the preload, the main handlers and the web client fail to type-check
 * until they implement it.
 */
import { z } from 'zod';

/** Version of this contract; bump when a command's args or result change incompatibly. */
export const STUDIO_CONTRACT_VERSION = 1;

/** `app.info` takes no arguments; unknown keys are rejected so a typo is an error, not a silent no-op. */
export const appInfoArgsSchema = z.strictObject({});

/** What the studio reports about itself: versions and which host it runs in. */
export const appInfoSchema = z.strictObject({
  appVersion: z.string().min(1),
  engineVersion: z.string().min(1),
  platform: z.enum(['electron', 'web']),
  electron: z.string().min(1).optional(),
});

/** Arguments of `app.info`. */
export type AppInfoArgs = z.infer<typeof appInfoArgsSchema>;
/** Result of `app.info`. */
export type AppInfo = z.infer<typeof appInfoSchema>;

/** Every command: its args schema and its result schema. */
export const studioContract = {
  'app.info': { args: appInfoArgsSchema, result: appInfoSchema },
} as const;

/** The name of a contract command, e.g. `app.info`. */
export type StudioCommand = keyof typeof studioContract;
/** The validated arguments of command `C`. */
export type StudioArgs<C extends StudioCommand> = z.infer<(typeof studioContract)[C]['args']>;
/** The validated result of command `C`. */
export type StudioResult<C extends StudioCommand> = z.infer<(typeof studioContract)[C]['result']>;

/** All command names, in contract order. */
export const studioCommands = Object.keys(studioContract) as StudioCommand[];

/** True when `name` is a contract command (use before indexing `studioContract` with untrusted input). */
export function isStudioCommand(name: string): name is StudioCommand {
  return Object.prototype.hasOwnProperty.call(studioContract, name);
}

/** What the renderer sees: one method per command. `window.odsora` and the web client both implement it. */
export interface StudioApi {
  /** `app.info`: app and engine versions, and the host (Electron or browser). */
  appInfo(args?: AppInfoArgs): Promise<AppInfo>;
}

/** Which `StudioApi` method serves each command; `satisfies` keeps the two in step. */
export const studioMethodNames = {
  'app.info': 'appInfo',
} as const satisfies Record<StudioCommand, keyof StudioApi>;

/** The Electron IPC channel of a command; the preload and main both derive it from the command name. */
export type StudioChannel = `studio:${StudioCommand}`;

/** The Electron IPC channel of `command`. */
export function studioChannel(command: StudioCommand): StudioChannel {
  return `studio:${command}`;
}

/** Why a call failed. `retryable` says whether the same call may succeed later. */
export const studioErrorSchema = z.strictObject({
  code: z.enum(['bad-args', 'bad-request', 'unknown-command', 'unauthorized', 'forbidden', 'internal']),
  message: z.string(),
  retryable: z.boolean(),
});

/** A typed call failure. */
export type StudioError = z.infer<typeof studioErrorSchema>;

/** The answer to one call, without correlation id (HTTP replies, Electron IPC replies). */
export const studioReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: studioErrorSchema }),
]);

/** The answer to one call; `result` is validated per command by the caller. */
export type StudioReply = z.infer<typeof studioReplySchema>;

/** A call on a message bridge (WebSocket): `{ id, command, args }`. */
export const studioRequestSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  command: z.string().min(1),
  args: z.unknown(),
});

/** A call on a message bridge. */
export type StudioRequest = z.infer<typeof studioRequestSchema>;

/** The answer on a message bridge: `{ id, ok, result | error }`. */
export const studioResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({ id: z.number().int().nonnegative(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ id: z.number().int().nonnegative(), ok: z.literal(false), error: studioErrorSchema }),
]);

/** The answer on a message bridge. */
export type StudioResponse = z.infer<typeof studioResponseSchema>;

/** Builds a typed error. */
export function studioError(code: StudioError['code'], message: string, retryable = false): StudioError {
  return { code, message, retryable };
}

/** One line per zod issue, naming the offending field, e.g. `verbose: unrecognized key`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `${[...path, key].join('.')}: unrecognized key`).join('; ');
      }
      return `${path.length > 0 ? path.join('.') : '(args)'}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates untrusted arguments for `command`; the error names each bad field. */
export function parseStudioArgs<C extends StudioCommand>(
  command: C,
  raw: unknown,
): { ok: true; args: StudioArgs<C> } | { ok: false; error: StudioError } {
  const parsed = studioContract[command].args.safeParse(raw);
  if (parsed.success) return { ok: true, args: parsed.data as StudioArgs<C> };
  return { ok: false, error: studioError('bad-args', `${command}: ${describeIssues(parsed.error)}`) };
}

/** Validates a result for `command` (a host bug or a tampered reply shows up here, not deep in the UI). */
export function parseStudioResult<C extends StudioCommand>(
  command: C,
  raw: unknown,
): { ok: true; result: StudioResult<C> } | { ok: false; error: StudioError } {
  const parsed = studioContract[command].result.safeParse(raw);
  if (parsed.success) return { ok: true, result: parsed.data as StudioResult<C> };
  return { ok: false, error: studioError('internal', `${command} result: ${describeIssues(parsed.error)}`) };
}
