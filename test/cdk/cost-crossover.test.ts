import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FARGATE_DEFAULTS,
  HOURS_PER_MONTH,
  STREAMED_CALL,
  US_EAST_1_PRICES as P,
  crossoverCallsPerMonth,
  crossoverTable,
  fargateMonthlyCost,
  lambdaMonthlyCost,
} from '../../lib/cost-crossover.js';

const DOC = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
const call = (callsPerMonth: number) => ({ ...STREAMED_CALL, callsPerMonth });

describe('docs/deploy.md cost crossover', () => {
  it('the table between the markers is exactly what crossoverTable() computes', () => {
    const section = /<!-- cost-crossover:begin[^>]*-->\n([\s\S]*?)\n<!-- cost-crossover:end -->/.exec(DOC);
    expect(section, 'cost-crossover markers in docs/deploy.md').not.toBeNull();
    expect(section![1]).toBe(crossoverTable());
  });

  it('the prose figures (idle cost, cost of an extra task, prices) are the function inputs and outputs', () => {
    const idle = fargateMonthlyCost(call(0));
    expect(DOC).toContain(`Fargate costs about $${Math.round(idle.total)} a month **at idle**`);
    const taskMonth = (FARGATE_DEFAULTS.vcpu * P.fargateArmVcpuHour + FARGATE_DEFAULTS.memoryGb * P.fargateArmGbHour) * HOURS_PER_MONTH;
    expect(DOC).toContain(`about $${taskMonth.toFixed(2)} a month per extra task-month`);
    for (const price of [P.lambdaArmGbSecond, P.fargateArmVcpuHour, P.fargateArmGbHour, P.albHour, P.albLcuHour, P.natHour, P.natPerGb, P.publicIpv4Hour]) {
      expect(DOC).toContain(`$${price}`);
    }
    expect(DOC).toContain(`Region **${P.region}**`);
  });
});

describe('the cost model', () => {
  it('Lambda bills the whole stream at its memory: 1 M 10 s calls at 1,024 MB = 10 M GB-s + 1 M requests', () => {
    expect(lambdaMonthlyCost(call(1e6), 1024)).toBeCloseTo(10e6 * P.lambdaArmGbSecond + P.lambdaPerMillionRequests, 6);
    // The same figure as the memory-size table above it in docs/deploy.md.
    expect(DOC).toMatch(/\| 1,024 MB \(default\) \| 0\.58 \| \$133\.53 \|/);
    expect(lambdaMonthlyCost(call(1e6), 1024).toFixed(2)).toBe('133.53');
    expect(lambdaMonthlyCost(call(0), 1024)).toBe(0);
  });

  it('Fargate idles at the minimum tasks + ALB + NAT, and scales tasks by the request-count target', () => {
    const idle = fargateMonthlyCost(call(0));
    expect(idle.tasks).toBe(FARGATE_DEFAULTS.minTasks);
    expect(idle.natCost).toBeCloseTo((P.natHour + P.publicIpv4Hour) * HOURS_PER_MONTH, 6);
    expect(idle.loadBalancerCost).toBeCloseTo((P.albHour + 2 * P.publicIpv4Hour) * HOURS_PER_MONTH, 6);
    // 600 requests per task per minute = 10 calls/s per task: 40 calls/s needs 4 tasks.
    expect(fargateMonthlyCost(call(40 * 3600 * HOURS_PER_MONTH)).tasks).toBe(4);
    // CPU-bound calls scale on CPU instead: 1 s of CPU per call at 60 % target, 3 calls/s → 5 tasks.
    expect(fargateMonthlyCost({ ...call(3 * 3600 * HOURS_PER_MONTH), cpuSecondsPerCall: 1 }).tasks).toBe(5);
  });

  it('the crossover is where the two monthly totals meet, and smaller Lambdas move it up', () => {
    for (const mb of [256, 1024]) {
      const n = crossoverCallsPerMonth(mb);
      expect(lambdaMonthlyCost(call(n - 1000), mb)).toBeLessThan(fargateMonthlyCost(call(n - 1000)).total);
      expect(lambdaMonthlyCost(call(n + 1000), mb)).toBeGreaterThan(fargateMonthlyCost(call(n + 1000)).total);
    }
    expect(crossoverCallsPerMonth(256)).toBeGreaterThan(crossoverCallsPerMonth(1024));
  });
});
