/**
 * Identical concurrent misses within one instance: the first leads (calls the upstream),
 * the others join and wait — at most `waitMs` — for its answer. The table is bounded:
 * when `maxFlights` are in flight a new miss neither leads nor joins, it just calls.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Set<(value: T | undefined) => void>>();

  constructor(private readonly maxFlights = 10_000) {}

  get inFlight(): number {
    return this.flights.size;
  }

  /** The flight in progress for `id`, joined: its result, or undefined after `waitMs` or when it ended without one. No flight: undefined (not a promise). */
  join(id: string, waitMs: number): Promise<T | undefined> | undefined {
    const waiters = this.flights.get(id);
    if (!waiters) return undefined;
    return new Promise((resolve) => {
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), waitMs);
      timer.unref?.();
      waiters.add(done);
    });
  }

  /** Starts leading `id`: the function that hands the result to every waiter (call it once). Undefined when the table is full or `id` is led already. */
  lead(id: string): ((value: T | undefined) => void) | undefined {
    if (this.flights.has(id) || this.flights.size >= this.maxFlights) return undefined;
    const waiters = new Set<(value: T | undefined) => void>();
    this.flights.set(id, waiters);
    let settled = false;
    return (value) => {
      if (settled) return;
      settled = true;
      if (this.flights.get(id) === waiters) this.flights.delete(id);
      for (const w of [...waiters]) w(value);
    };
  }
}
