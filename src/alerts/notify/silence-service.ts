/**
 * The silence service: creates, updates, expires and garbage-collects
 * silences in the shared notification state, and answers which silences mute
 * a label set. The pipeline's silence stage and the API both go through it.
 */
import type { Clock } from './clock.js';
import type { LabelSet } from './matchers.js';
import { newSilenceId, SilenceError, silenceState, silencedBy, validateSilence, type Silence } from './silences.js';
import type { NotifyState } from './state.js';

export class SilenceService {
  constructor(
    private readonly state: NotifyState,
    private readonly clock: Clock,
    /** Expired silences are kept this long (Alertmanager's --data.retention). */
    private readonly retentionMs: number,
  ) {}

  list(): Promise<Silence[]> {
    return this.state.silences();
  }

  async get(id: string): Promise<Silence | undefined> {
    return (await this.state.silences()).find((s) => s.id === id);
  }

  /** Ids of the silences muting `labels` now; `silences` saves a read when the caller has them. */
  async mutedBy(labels: LabelSet, silences?: Silence[]): Promise<string[]> {
    const list = silences ?? (await this.state.silences());
    return list.length ? silencedBy(list, labels, this.clock.now()) : [];
  }

  /** Creates or updates; returns the id or throws SilenceError. */
  async put(input: Partial<Silence>): Promise<string> {
    const now = this.clock.now();
    const err = validateSilence(input);
    if (err) throw new SilenceError(err, 400);
    let id = input.id;
    if (id) {
      const old = await this.get(id);
      if (!old) throw new SilenceError(`silence ${id} not found`, 404);
      // Alertmanager never edits an expired silence in place; it makes a new one.
      if (silenceState(old, now) === 'expired') id = undefined;
    }
    if (input.endsAt! <= now) throw new SilenceError('silence end time must be in the future', 400);
    const s: Silence = {
      id: id ?? newSilenceId(),
      matchers: input.matchers!.map((m) => ({ name: m.name, value: m.value, isRegex: !!m.isRegex, isEqual: m.isEqual !== false })),
      startsAt: Math.max(input.startsAt!, now),
      endsAt: input.endsAt!,
      updatedAt: now,
      createdBy: input.createdBy ?? '',
      comment: input.comment ?? '',
    };
    await this.state.silenceSet(s);
    return s.id;
  }

  async expire(id: string): Promise<void> {
    const now = this.clock.now();
    const s = await this.get(id);
    if (!s) throw new SilenceError(`silence ${id} not found`, 404);
    if (silenceState(s, now) === 'expired') throw new SilenceError('silence is already expired', 400);
    await this.state.silenceSet({ ...s, startsAt: Math.min(s.startsAt, now), endsAt: now, updatedAt: now });
  }

  /** Drops silences expired longer than the retention ago. */
  async gc(): Promise<void> {
    const now = this.clock.now();
    for (const s of await this.state.silences().catch(() => [] as Silence[])) {
      if (s.endsAt + this.retentionMs <= now) await this.state.silenceDelete(s.id).catch(() => undefined);
    }
  }
}
