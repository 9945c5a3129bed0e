/**
 * The companion server's side of model sync: `blockset.offer`, `blockset.chunk` and the chunk's binary frame go
 * to a `ModelSyncReceiver` (model-sync.ts) when the host gives a `ModelStore`; without one an offer gets
 * `unsupported`. Installed sets (and sets being received) are merged into the device info's `blockSets`.
 */
import type { BinaryFrame } from '../protocol/binary-frame';
import type { DeviceInfo } from '../protocol/device';
import { protocolError, type ErrorMessage } from '../protocol/errors';
import type { ClientMessageOf } from '../protocol/messages';
import { ModelSyncError, type ModelSyncReceiver } from './model-sync';
import { describe, ref } from './replies';
import type { Replier, Session } from './session';

/** Model-sync message handling for the sessions of one server. */
export class BlockSetTransfers {
  constructor(
    private readonly modelSync: ModelSyncReceiver | null,
    private readonly replier: Replier,
  ) {}

  async onBlockSetOffer(session: Session, m: ClientMessageOf<'blockset.offer'>): Promise<void> {
    session.chunk = null;
    if (this.modelSync === null) {
      this.replier.send(
        session,
        protocolError('unsupported', 'this device does not accept model sync (blockset.offer)', ref(m.id)),
      );
      return;
    }
    try {
      const ack = await this.modelSync.offer(session, m);
      this.replier.send(session, { type: 'blockset.ack', ...ref(m.id), ...ack });
    } catch (error) {
      this.replier.send(session, this.syncError(error, m.id));
    }
  }

  async onBlockSetChunk(session: Session, m: ClientMessageOf<'blockset.chunk'>): Promise<void> {
    // The binary frame follows immediately; until it arrives, the chunk (or its refusal) waits here.
    session.chunk = { rejected: true };
    if (this.modelSync === null) {
      this.replier.send(
        session,
        protocolError('unknown-transfer', `no model transfer ${m.transferId} on this connection`, ref(m.id)),
      );
      return;
    }
    try {
      session.chunk = { pending: await this.modelSync.checkChunk(session, m), id: m.id };
    } catch (error) {
      this.replier.send(session, this.syncError(error, m.id));
    }
  }

  async onChunkFrame(session: Session, frame: BinaryFrame): Promise<void> {
    const announced = session.chunk;
    session.chunk = null;
    if (announced === null || this.modelSync === null) {
      this.replier.send(
        session,
        protocolError('unknown-transfer', `no model transfer ${frame.streamId} on this connection`),
      );
      return;
    }
    if ('rejected' in announced) return; // its blockset.chunk was already answered with an error
    const { pending, id } = announced;
    if (frame.streamId !== pending.transferId || frame.seq !== pending.chunkSeq) {
      this.replier.send(
        session,
        protocolError(
          'bad-binary-frame',
          `expected the frame of chunk ${pending.chunkSeq} of transfer ${pending.transferId}, got chunk ${frame.seq} of ${frame.streamId}`,
          ref(id),
        ),
      );
      return;
    }
    try {
      const ack = await this.modelSync.receiveChunk(session, pending, frame.payload);
      this.replier.send(session, { type: 'blockset.ack', ...ref(id), ...ack });
    } catch (error) {
      this.replier.send(session, this.syncError(error, id));
    }
  }

  /** Deletes an installed set (false: none of that name, or no model sync on this device). */
  async removeInstalled(name: string): Promise<boolean> {
    return this.modelSync === null ? false : this.modelSync.removeInstalled(name);
  }

  /** Removes the staging of abandoned pushes; how many (0 without model sync). */
  async sweepAbandoned(): Promise<number> {
    return this.modelSync === null ? 0 : this.modelSync.sweepAbandoned();
  }

  /** The host's device info with synced block sets merged in. */
  withBlockSets(info: DeviceInfo): DeviceInfo {
    if (this.modelSync === null) return info;
    const synced = this.modelSync.blockSets();
    const names = new Set(synced.map((b) => b.name));
    const blockSets = [...info.blockSets.filter((b) => !names.has(b.name)), ...synced].slice(0, 256);
    return { ...info, blockSets };
  }

  /** Drops a closed session's transfers. */
  release(session: Session): void {
    this.modelSync?.release(session);
  }

  private syncError(error: unknown, id: number | undefined): ErrorMessage {
    if (error instanceof ModelSyncError)
      return protocolError(error.code, error.message, {
        ...ref(id),
        ...(error.extra.path === undefined ? {} : { path: error.extra.path }),
      });
    this.replier.log(`model sync: ${describe(error)}`);
    return protocolError('internal', `model sync failed on the device: ${describe(error)}`, ref(id));
  }
}
