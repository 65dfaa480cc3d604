/**
 * Identical reads asked for at the same time share one query. A read asked for while an identical one runs does not
 * take that one's answer (it may have been counted before a write the caller already saw): it waits for the next
 * query, which starts as soon as the running one ends and answers every read that waited for it. So every caller gets
 * an answer counted after it asked, and any number of identical readers of one process cost the database one query
 * at a time (and one waiting to start) instead of one each.
 */
export class ReadCoalescer<T> {
  private readonly slots = new Map<string, Slot<T>>();

  /**
   * The answer of `read` for `key`, shared as described above. Callers that share a query get `copy` of its answer
   * (the caller that started it gets the answer itself), so that no caller sees another's changes to it. A failed
   * query fails the callers that shared it, and the next read starts afresh.
   */
  run(key: string, read: () => Promise<T>, copy: (value: T) => T = (value) => value): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { running: null, waiting: null };
      this.slots.set(key, slot);
    }
    if (slot.waiting) return slot.waiting.then(copy);
    if (!slot.running) return this.launch(key, slot, read);
    const current = slot;
    const waiting = current.running!.then(noop, noop).then(() => {
      current.waiting = null;
      return this.launch(key, current, read);
    });
    current.waiting = waiting;
    return waiting.then(copy);
  }

  private launch(key: string, slot: Slot<T>, read: () => Promise<T>): Promise<T> {
    const running: Promise<T> = read().finally(() => {
      if (slot.running !== running) return;
      slot.running = null;
      if (!slot.waiting) this.slots.delete(key);
    });
    slot.running = running;
    return running;
  }
}

interface Slot<T> {
  running: Promise<T> | null;
  waiting: Promise<T> | null;
}

const noop = () => {};
