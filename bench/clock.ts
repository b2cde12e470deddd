// The bench's clock: CLOCK_MONOTONIC in milliseconds, the same clock the
// agents use (src/adapters/system-clock.ts), so deadlines they write into
// ticket files (`revokeBy`) compare directly with the bench's timestamps.

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A measurement window (the measurement itself, not a wait for an event). */
export function windowElapsed(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
