// The studio's command handlers and the one dispatcher every transport (Electron IPC, HTTP, later WebSocket) goes
// through, so validation and error mapping cannot differ between the desktop window and the browser page.
import { ENGINE_VERSION } from '../../shared/engine/version';
import {
  isStudioCommand,
  parseStudioArgs,
  parseStudioResult,
  studioError,
  type StudioArgs,
  type StudioCommand,
  type StudioReply,
  type StudioResult,
} from '../../shared/protocol/studio-contract';

/** One async handler per contract command, called with arguments that already passed the schema. */
export type StudioHandlers = {
  [C in StudioCommand]: (args: StudioArgs<C>) => Promise<StudioResult<C>>;
};

/** What the handlers need to know about the host they run in. */
export interface StudioHostInfo {
  appVersion: string;
  platform: 'electron' | 'web';
  /** Electron's version, when running inside Electron. */
  electron?: string;
}

/** The studio's services behind the contract. Placeholder screens only need `app.info` for now. */
export function createStudioHandlers(host: StudioHostInfo): StudioHandlers {
  return {
    'app.info': async () => ({
      appVersion: host.appVersion,
      engineVersion: ENGINE_VERSION,
      platform: host.platform,
      ...(host.electron !== undefined ? { electron: host.electron } : {}),
    }),
  };
}

/** Validates a call from an untrusted transport, runs it and answers with a typed reply; never throws. */
export type StudioDispatch = (command: string, rawArgs: unknown) => Promise<StudioReply>;

/** Builds the dispatcher: unknown command, bad args, handler failure and bad results all become typed errors. */
export function createStudioDispatch(handlers: StudioHandlers): StudioDispatch {
  return async (command, rawArgs) => {
    if (!isStudioCommand(command)) {
      return { ok: false, error: studioError('unknown-command', `Unknown command: ${command}`) };
    }
    const args = parseStudioArgs(command, rawArgs);
    if (!args.ok) return { ok: false, error: args.error };
    let raw: unknown;
    try {
      // The mapped type cannot follow the correlation between `command` and `handlers[command]`; the schema did.
      const handler = handlers[command] as (a: unknown) => Promise<unknown>;
      raw = await handler(args.args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, error: studioError('internal', `${command} failed: ${message}`, true) };
    }
    const result = parseStudioResult(command, raw);
    return result.ok ? { ok: true, result: result.result } : { ok: false, error: result.error };
  };
}
