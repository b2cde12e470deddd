// The one base of tollbooth's errors (STYLE.md, after lodestar's LodestarError
// and libp2p's errors.ts): a stable, machine-readable `code` (each class
// names its codes as a string-literal union), a message for people, and flat
// details — strings, numbers, booleans, lists of them — that go straight
// into log fields:
//
//   log.warn({ ticket, ...errorFields(err) }, 'runnability check failed')
//   → { "ticket": "T", "err": "<message>", "code": "TIMEOUT", "tool": "crm_simulate", … }
//
// A bottom-layer file: src/ (but src/core, which imports nothing outside
// itself and keeps its own AssertionError) and the composition roots import
// it; it imports nothing.

/** One detail value: flat, so that it can be a log field as it is. */
export type ErrorDetail = string | number | boolean | null | readonly string[] | readonly number[];

/** An error's details: flat key → value. Undefined values are left out of log fields. */
export type ErrorDetails = Readonly<Record<string, ErrorDetail | undefined>>;

export interface TollboothErrorOptions {
  readonly details?: ErrorDetails;
  readonly cause?: unknown;
}

export class TollboothError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: ErrorDetails;

  constructor(code: Code, message: string, options: TollboothErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /** `{ code, ...details }`, without undefined details: this error as log fields. */
  logFields(): Record<string, ErrorDetail> {
    const out: Record<string, ErrorDetail> = { code: this.code };
    for (const [k, v] of Object.entries(this.details)) if (v !== undefined && k !== 'code') out[k] = v;
    return out;
  }
}

/**
 * Any thrown value as log fields: `{ err: message }`, plus `{ code, ...details }`
 * for a TollboothError, or the `code` Node puts on its own errors (ENOENT, ...).
 */
export function errorFields(err: unknown): Record<string, ErrorDetail> {
  if (err instanceof TollboothError) return { err: err.message, ...err.logFields() };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { err: err.message, code } : { err: err.message };
  }
  return { err: String(err) };
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
