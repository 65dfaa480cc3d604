/**
 * The newest event id up to which every event is done (its writes landed, or failed and were logged), while events
 * finish out of order (each job's writes run on their own). A restarted recorder resumes after it: nothing before it
 * is still in flight, so nothing is skipped; what after it was already written is written again, which changes
 * nothing.
 */
export class Watermark {
  private ids: string[] = [];
  private done: boolean[] = [];
  /** Index in `ids` of the oldest event not yet done (or `ids.length`). */
  private head = 0;
  /** Sequence number of `ids[0]`. */
  private base = 0;
  private open = 0;
  private committedId: string | undefined;
  private committedAt = 0;

  /** Starts tracking an event; returns the number to `end` it with. */
  begin(eventId: string): number {
    this.ids.push(eventId);
    this.done.push(false);
    this.open++;
    return this.base + this.ids.length - 1;
  }

  /** Marks an event done and moves the watermark past every done event at its head. */
  end(seq: number): void {
    const i = seq - this.base;
    if (i < this.head || i >= this.done.length || this.done[i]) return;
    this.done[i] = true;
    this.open--;
    if (i !== this.head) return;
    while (this.head < this.done.length && this.done[this.head]) this.head++;
    this.committedId = this.ids[this.head - 1];
    this.committedAt = Date.now();
    // Drop the done prefix now and then, not on every event (amortized O(1)).
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.done = this.done.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** Events begun and not yet done. */
  get inFlight(): number {
    return this.open;
  }

  /** The newest event id with nothing in flight at or before it, and when it got there; `undefined` before any. */
  get committed(): { eventId: string; at: number } | undefined {
    return this.committedId === undefined ? undefined : { eventId: this.committedId, at: this.committedAt };
  }
}
