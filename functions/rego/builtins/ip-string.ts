/**
 * Go's net.IP.String(): dotted IPv4 (v4-mapped included), RFC 5952 IPv6, and `?<hex>` for a
 * length that is neither 4 nor 16. No imports, so the lazily loaded x509 module can share it
 * with net.* without taking a second copy of the engine's value classes.
 */
export function ipString(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join('.');
  if (ip.length !== 16) return `?${Buffer.from(ip).toString('hex')}`;
  if (ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff) return [...ip.subarray(12)].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i]! << 8) | ip[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
