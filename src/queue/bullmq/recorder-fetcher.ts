/** The part of a BullMQ `Job` the recorder reads (bullmq 5 or 6, Redis or PostgreSQL backend). */
export interface RecorderJob {
  id?: string | undefined;
  name: string;
  data: unknown;
  attemptsMade: number;
  failedReason: string;
  stacktrace: string[] | null;
  returnvalue: unknown;
  /** When it was added, its last attempt started, and it finished (epoch ms). */
  timestamp?: number | undefined;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  progress: unknown;
  /** The job's state now (a second read). */
  getState?(): Promise<string>;
}

/** Most reads one batch sends at once; the rest wait for the next batch. */
const MAX_BATCH = 200;

/**
 * Reads jobs by id for the recorder, coalescing the reads asked for in the same tick into one batch sent together
 * (concurrent commands on one connection are pipelined by the client). A read asked for after a batch was sent waits
 * for the next one rather than joining it: it was asked for because of an event, and must see the job as it is after
 * that event.
 */
export class JobFetcher {
  private waiting = new Map<string, Array<(job: RecorderJob | undefined) => void>>();
  private scheduled = false;

  constructor(
    private readonly getJob: (id: string) => Promise<RecorderJob | undefined>,
    private readonly onError: (error: unknown, jobId: string) => void,
  ) {}

  /** The job now, or `undefined` when the queue no longer has it (or it could not be read: reported). */
  get(jobId: string): Promise<RecorderJob | undefined> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(jobId);
      if (waiters) waiters.push(resolve);
      else this.waiting.set(jobId, [resolve]);
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.send());
      }
    });
  }

  private send(): void {
    this.scheduled = false;
    const batch = [...this.waiting].slice(0, MAX_BATCH);
    for (const [id] of batch) this.waiting.delete(id);
    if (this.waiting.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.send());
    }
    for (const [id, waiters] of batch) {
      this.getJob(id).then(
        (job) => {
          for (const w of waiters) w(job ?? undefined);
        },
        (error) => {
          this.onError(error, id);
          for (const w of waiters) w(undefined);
        },
      );
    }
  }
}
