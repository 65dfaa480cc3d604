/** The part of a pino-compatible logger the library uses. */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** Default logger: warnings and errors to the console, nothing else (quiet by default). */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn(obj, msg) {
    console.warn('[agentcore-task]', ...(msg === undefined ? [obj] : [msg, obj]));
  },
  error(obj, msg) {
    console.error('[agentcore-task]', ...(msg === undefined ? [obj] : [msg, obj]));
  },
};

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
