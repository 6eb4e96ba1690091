/**
 * Weighted load balancing: the order a request tries a proxy's balanced targets in, drawn
 * by weight without replacement (the first is the target that serves when healthy; the
 * rest follow it as fallbacks). Pure: the random source is injected.
 */
export function weightedOrder(weights: Readonly<Record<string, number>>, random: () => number = Math.random): string[] {
  const pool = Object.entries(weights).filter(([, w]) => w > 0);
  const order: string[] = [];
  while (pool.length) {
    const total = pool.reduce((sum, [, w]) => sum + w, 0);
    let pick = random() * total;
    let i = 0;
    while (i < pool.length - 1 && pick >= pool[i]![1]) pick -= pool[i++]![1];
    order.push(pool.splice(i, 1)[0]![0]);
  }
  return order;
}
