/** Reads a server-sent event stream in tests: events (and comments) as they arrive, with waits that time out. */
export interface ParsedEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export class SseReader {
  readonly events: ParsedEvent[] = [];
  readonly comments: string[] = [];
  readonly raw: string[] = [];
  ended = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private wake: () => void = () => {};
  private readonly done: Promise<void>;

  constructor(response: Response) {
    if (!response.body) throw new Error('no body');
    this.reader = response.body.getReader();
    this.done = this.pump();
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let current: { event: string; data: string[]; id: string | undefined } = { event: '', data: [], id: undefined };
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        this.raw.push(text);
        buffer += text;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (current.data.length > 0)
              this.events.push({ event: current.event || 'message', data: current.data.join('\n'), id: current.id });
            current = { event: '', data: [], id: undefined };
          } else if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') current.event = v;
            else if (field === 'data') current.data.push(v);
            else if (field === 'id') current.id = v;
          }
          nl = buffer.indexOf('\n');
        }
        this.wake();
      }
    } catch {
      // cancelled
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  /** Resolves when `check()` is truthy; rejects after `ms`. */
  async until<T>(check: () => T | undefined | false, ms = 2000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => e.data.slice(0, 80)))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The execution events' payloads. */
  get items(): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.event === 'execution').map((e) => JSON.parse(e.data));
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
    await this.done;
  }
}
