// Bounded restarts of the sidecar after crashes.

/** Decision after a crash: start the sidecar again, or leave it stopped. */
export type CrashDecision = { action: 'restart'; attempt: number } | { action: 'stop'; crashes: number };

/**
 * RestartPolicy allows maxRestarts restarts within any window of windowMs
 * milliseconds. The crash after those within the window stops the sidecar,
 * so a binary that dies at start does not restart forever. Crashes older than
 * the window are forgotten.
 */
export class RestartPolicy {
  private crashTimes: number[] = [];

  constructor(
    readonly maxRestarts: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
      throw new RangeError(`maxRestarts must be a non-negative integer, not ${maxRestarts}`);
    }
    if (!(windowMs > 0)) {
      throw new RangeError(`windowMs must be positive, not ${windowMs}`);
    }
  }

  /** Records a crash now and decides what follows it. */
  recordCrash(): CrashDecision {
    const now = this.now();
    this.crashTimes = this.crashTimes.filter((time) => now - time < this.windowMs);
    this.crashTimes.push(now);

    const crashes = this.crashTimes.length;
    if (crashes > this.maxRestarts) {
      return { action: 'stop', crashes };
    }
    return { action: 'restart', attempt: crashes };
  }

  /** Forgets every crash, as after the user restarted the sidecar by hand. */
  reset(): void {
    this.crashTimes = [];
  }
}
