/**
 * Lambda vs Fargate monthly cost for the gateway, from list prices (docs/deploy.md
 * "Lambda or Fargate: the cost crossover" renders its table from `crossoverTable()`, and
 * test/cdk/cost-crossover.test.ts checks the doc holds exactly that text). Pure: no AWS
 * SDK, no CDK, no I/O. Only costs that differ between the runtimes are counted: tables,
 * secrets, dashboards, alarms, logs and data transfer out are the same in both.
 */

/** List prices, USD. */
export interface Prices {
  readonly region: string;
  /** Where and when the prices were taken. */
  readonly source: string;
  readonly lambdaArmGbSecond: number;
  readonly lambdaPerMillionRequests: number;
  readonly fargateArmVcpuHour: number;
  readonly fargateArmGbHour: number;
  readonly albHour: number;
  readonly albLcuHour: number;
  readonly natHour: number;
  readonly natPerGb: number;
  readonly publicIpv4Hour: number;
}

/** US East (N. Virginia), Linux/arm64, on-demand, before free tier. */
export const US_EAST_1_PRICES: Prices = {
  region: 'us-east-1',
  source:
    'AWS public pricing pages for Lambda, Fargate, Elastic Load Balancing, VPC (NAT gateway, public IPv4), as list prices known in 2025 and copied by hand, not fetched',
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  albHour: 0.0225,
  albLcuHour: 0.008,
  natHour: 0.045,
  natPerGb: 0.045,
  publicIpv4Hour: 0.005,
};

export const HOURS_PER_MONTH = 730;

export interface Workload {
  readonly callsPerMonth: number;
  /** How long a call streams; Lambda bills all of it at its memory size. */
  readonly streamSeconds: number;
  /** Bytes a call moves to and from the provider (through the NAT on Fargate). */
  readonly bytesPerCall: number;
  /** Gateway CPU a call costs, in vCPU-seconds. */
  readonly cpuSecondsPerCall: number;
}

/** What the crossover table assumes: 10 s streams, 40 KB each way in total, 5 ms of CPU. */
export const STREAMED_CALL: Omit<Workload, 'callsPerMonth'> = {
  streamSeconds: 10,
  bytesPerCall: 40_000,
  // Not measured for streams: bench/results/gateway.md measures ~0.72 ms per non-streamed
  // call on a full core; SSE relaying of a 10 s answer is assumed to cost about 7 times that.
  cpuSecondsPerCall: 0.005,
};

/** The deployed Fargate shape (lib/fargate-runtime.ts defaults). */
export interface FargateShape {
  readonly vcpu: number;
  readonly memoryGb: number;
  readonly minTasks: number;
  readonly cpuTargetPercent: number;
  readonly requestsPerTaskPerMinute: number;
  readonly azs: number;
  readonly natGateways: number;
}

export const FARGATE_DEFAULTS: FargateShape = { vcpu: 1, memoryGb: 2, minTasks: 2, cpuTargetPercent: 60, requestsPerTaskPerMinute: 600, azs: 2, natGateways: 1 };

export function lambdaMonthlyCost(w: Workload, memoryMb: number, p: Prices = US_EAST_1_PRICES): number {
  const gbSeconds = w.callsPerMonth * w.streamSeconds * (memoryMb / 1024);
  return gbSeconds * p.lambdaArmGbSecond + (w.callsPerMonth / 1e6) * p.lambdaPerMillionRequests;
}

export interface FargateCost {
  readonly tasks: number;
  readonly tasksCost: number;
  readonly loadBalancerCost: number;
  readonly natCost: number;
  readonly total: number;
}

/**
 * Calls spread evenly over the month (a peak-to-mean ratio above 1 adds tasks at the peak:
 * multiply the rate accordingly). Tasks: what the autoscaling targets ask for, at least `minTasks`.
 */
export function fargateMonthlyCost(w: Workload, shape: FargateShape = FARGATE_DEFAULTS, p: Prices = US_EAST_1_PRICES): FargateCost {
  const callsPerSecond = w.callsPerMonth / (HOURS_PER_MONTH * 3600);
  const byRequests = Math.ceil((callsPerSecond * 60) / shape.requestsPerTaskPerMinute);
  const byCpu = Math.ceil((callsPerSecond * w.cpuSecondsPerCall) / (shape.vcpu * (shape.cpuTargetPercent / 100)));
  const tasks = Math.max(shape.minTasks, byRequests, byCpu);
  const tasksCost = tasks * (shape.vcpu * p.fargateArmVcpuHour + shape.memoryGb * p.fargateArmGbHour) * HOURS_PER_MONTH;

  // LCU: the largest of new connections (25/s), active connections (3,000/min), processed GB (1/h).
  const lcu = Math.max(callsPerSecond / 25, (callsPerSecond * w.streamSeconds) / 3000, (callsPerSecond * 3600 * w.bytesPerCall) / 1e9);
  // An internet-facing ALB holds one public IPv4 address per AZ.
  const loadBalancerCost = (p.albHour + lcu * p.albLcuHour + shape.azs * p.publicIpv4Hour) * HOURS_PER_MONTH;
  const natCost = shape.natGateways * (p.natHour + p.publicIpv4Hour) * HOURS_PER_MONTH + (w.callsPerMonth * w.bytesPerCall * p.natPerGb) / 1e9;
  return { tasks, tasksCost, loadBalancerCost, natCost, total: tasksCost + loadBalancerCost + natCost };
}

/** Calls per month above which Fargate is cheaper than Lambda at `memoryMb` (bisection on the monthly totals). */
export function crossoverCallsPerMonth(memoryMb: number, call: Omit<Workload, 'callsPerMonth'> = STREAMED_CALL, shape: FargateShape = FARGATE_DEFAULTS, p: Prices = US_EAST_1_PRICES): number {
  const diff = (n: number) => lambdaMonthlyCost({ ...call, callsPerMonth: n }, memoryMb, p) - fargateMonthlyCost({ ...call, callsPerMonth: n }, shape, p).total;
  let lo = 0;
  let hi = 1e6;
  while (diff(hi) < 0) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1; i++) {
    const mid = (lo + hi) / 2;
    if (diff(mid) < 0) lo = mid;
    else hi = mid;
  }
  return hi;
}

const usd = (v: number) => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const millions = (n: number) => `${(n / 1e6).toLocaleString('en-US', { maximumFractionDigits: 2 })} M`;

/** The monthly volumes the table shows. */
export const TABLE_VOLUMES = [0, 500_000, 1_000_000, 5_000_000, 10_000_000, 100_000_000] as const;
/** The Lambda memory sizes it compares (the default, and the smallest sensible for long streams). */
export const TABLE_MEMORY_MB = [1024, 256] as const;

/** The markdown docs/deploy.md shows between its cost-crossover markers. */
export function crossoverTable(p: Prices = US_EAST_1_PRICES): string {
  const lines = [
    '| calls per month | Lambda 1,024 MB | Lambda 256 MB | Fargate total (tasks) | of which tasks | ALB + its IPs + LCU | NAT + its IP + GB |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const n of TABLE_VOLUMES) {
    const w = { ...STREAMED_CALL, callsPerMonth: n };
    const f = fargateMonthlyCost(w, FARGATE_DEFAULTS, p);
    lines.push(
      `| ${n === 0 ? '0 (idle)' : millions(n)} | ${usd(lambdaMonthlyCost(w, 1024, p))} | ${usd(lambdaMonthlyCost(w, 256, p))} | ${usd(f.total)} (${f.tasks}) | ${usd(f.tasksCost)} | ${usd(f.loadBalancerCost)} | ${usd(f.natCost)} |`,
    );
  }
  lines.push('');
  for (const mb of TABLE_MEMORY_MB) {
    lines.push(`Crossover at ${mb.toLocaleString('en-US')} MB: Fargate is cheaper above **${millions(crossoverCallsPerMonth(mb, STREAMED_CALL, FARGATE_DEFAULTS, p))} calls a month**.`);
  }
  return lines.join('\n');
}
