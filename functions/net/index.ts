/** SSRF-safe upstream targets: IP spellings, blocked ranges, the checking guard and the pinned lookup. */
export { parseIpLiteral, type IpLiteral } from './ip-literal.js';
export { blockedReason, isMetadataHostname, PRIVATE_NETWORK, type BlockReason, type BlockOptions } from './blocked-address.js';
export {
  createUpstreamGuard,
  defaultResolver,
  pinnedLookup,
  pinnedRequestOptions,
  type PinnedRequestOptions,
  SsrfError,
  type CheckedTarget,
  type CheckOptions,
  type ResolvedAddress,
  type Resolver,
  type SsrfReason,
  type UpstreamGuard,
  type UpstreamGuardOptions,
} from './upstream-guard.js';
