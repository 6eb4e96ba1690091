import { parseIp, type ParsedIp } from './ip-literal.js';

/**
 * Which destinations an upstream call may never reach. Categories in `PRIVATE_NETWORK`
 * are allowed only for a proxy that opts into private networks (a vLLM inside the VPC,
 * local development); every other category is refused always. Sources: the IANA IPv4
 * and IPv6 special-purpose address registries, plus the cloud metadata endpoints.
 */
export type BlockReason =
  | 'metadata' // cloud instance metadata (credentials!)
  | 'link-local'
  | 'unspecified' // 0.0.0.0/8, ::  — "this host", reaches local services on Linux
  | 'loopback'
  | 'private' // RFC 1918
  | 'shared-address' // 100.64.0.0/10, carrier-grade NAT
  | 'unique-local' // fc00::/7
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'not-an-ip-address';

export const PRIVATE_NETWORK: ReadonlySet<BlockReason> = new Set<BlockReason>([
  'loopback',
  'private',
  'shared-address',
  'unique-local',
]);

export interface BlockOptions {
  allowPrivateNetwork: boolean;
}

/**
 * Why `address` may not be connected to, or undefined when it may. `address` is an IP in
 * any spelling (see parseIp); IPv4 embedded in IPv6 (mapped, translated, compatible,
 * NAT64, 6to4) is unwrapped and judged as the IPv4. A metadata host name (which no DNS
 * check can be trusted for) is refused too; any other non-IP input is refused as
 * `not-an-ip-address`, so a caller that passes a name by mistake fails closed.
 */
export function blockedReason(address: string, opts: BlockOptions): BlockReason | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return isMetadataHostname(address) ? 'metadata' : 'not-an-ip-address';
  return blockedIpReason(ip, opts);
}

export function blockedIpReason(ip: ParsedIp, opts: BlockOptions): BlockReason | undefined {
  const reason = ip.family === 4 ? classifyIPv4(ip.v4) : classifyIPv6(ip.groups);
  if (reason === undefined) return undefined;
  return opts.allowPrivateNetwork && PRIVATE_NETWORK.has(reason) ? undefined : reason;
}

/** `metadata.google.internal` and its short search-domain form `metadata`, any case, trailing dots. */
export function isMetadataHostname(hostname: string): boolean {
  let end = hostname.length;
  while (end > 0 && hostname.charCodeAt(end - 1) === 0x2e) end--;
  if (end !== 8 && end !== 24) return false;
  const name = hostname.slice(0, end).toLowerCase();
  return name === 'metadata' || name === 'metadata.google.internal';
}

type Range4 = readonly [base: number, prefix: number, reason: BlockReason];

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** First match wins, so the specific entries come before the ranges that contain them. */
const IPV4_RANGES: readonly Range4[] = [
  [v4(169, 254, 169, 254), 32, 'metadata'], // AWS, GCP, Azure, OpenStack
  [v4(100, 100, 100, 200), 32, 'metadata'], // Alibaba Cloud
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'shared-address'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local'], // also ECS/EKS credential endpoints 169.254.170.x
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved'], // IETF protocol assignments (incl. Oracle metadata 192.0.0.192)
  [v4(192, 0, 2, 0), 24, 'documentation'],
  [v4(192, 88, 99, 0), 24, 'reserved'], // 6to4 relay anycast
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'reserved'], // benchmarking
  [v4(198, 51, 100, 0), 24, 'documentation'],
  [v4(203, 0, 113, 0), 24, 'documentation'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(255, 255, 255, 255), 32, 'broadcast'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
];

function classifyIPv4(address: number): BlockReason | undefined {
  for (const [base, prefix, reason] of IPV4_RANGES) {
    const mask = (0xffffffff << (32 - prefix)) >>> 0; // prefix ≥ 4 here, so the shift is < 32
    if (((address & mask) >>> 0) === base) return reason;
  }
  return undefined;
}

function classifyIPv6(g: number[]): BlockReason | undefined {
  const at = (i: number) => g[i] ?? 0;
  const zeroUpTo = (n: number) => {
    for (let i = 0; i < n; i++) if (at(i) !== 0) return false;
    return true;
  };
  const embedded = () => ((at(6) << 16) | at(7)) >>> 0;

  if (zeroUpTo(6)) {
    if (at(6) === 0 && at(7) === 0) return 'unspecified'; // ::
    if (at(6) === 0 && at(7) === 1) return 'loopback'; // ::1
    return classifyIPv4(embedded()); // ::a.b.c.d, IPv4-compatible (deprecated, still routed by some stacks)
  }
  if (zeroUpTo(5) && at(5) === 0xffff) return classifyIPv4(embedded()); // ::ffff:0:0/96 mapped
  if (zeroUpTo(4) && at(4) === 0xffff && at(5) === 0) return classifyIPv4(embedded()); // ::ffff:0:0:0/96 translated (SIIT)

  const g0 = at(0);
  const g1 = at(1);
  if (g0 === 0x64 && g1 === 0xff9b) {
    // 64:ff9b::/96, the well-known NAT64 prefix: the IPv4 is the last 32 bits.
    if (at(2) === 0 && at(3) === 0 && at(4) === 0 && at(5) === 0) return classifyIPv4(embedded());
    // 64:ff9b:1::/48 is for local NAT64 deployments whose prefix length (/48…/96) we cannot
    // know, so neither can we tell where the IPv4 sits: refuse it.
    if (at(2) === 1) return 'reserved';
  }
  if (g0 === 0x2002) return classifyIPv4(((g1 << 16) | at(2)) >>> 0); // 6to4: IPv4 in bits 16–47
  if (g0 === 0xfd00 && g1 === 0x0ec2) return 'metadata'; // AWS's services prefix: IMDS fd00:ec2::254, DNS ::253, NTP ::123
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'reserved'; // site-local, deprecated
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation';
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return 'documentation'; // 3fff::/20
  if (g0 === 0x2001 && g1 < 0x0200) return 'reserved'; // 2001::/23 IETF assignments, incl. Teredo 2001::/32
  // Only 2000::/3 is allocated for global unicast; everything else (100::/64 discard,
  // 5f00::/16 SRv6, unassigned space) is not a place an upstream lives.
  if ((g0 & 0xe000) !== 0x2000) return 'reserved';
  return undefined;
}
