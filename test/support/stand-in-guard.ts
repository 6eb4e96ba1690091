/**
 * The real SSRF guard with an injected resolver, plus local stand-ins for public hosts.
 *
 * Every check is decided by `createUpstreamGuard` itself (the production guard, with a
 * resolver answering test names the way public DNS would). Only once a check has PASSED
 * and the host has a stand-in does the guard answer the stand-in's local address instead,
 * so the call reaches a wire-faithful test upstream rather than the internet. Tests
 * assert on `checks` (the exact base URL the gateway chose, and the guard's verdict) and on
 * what the stand-in received. A refused check never reaches a stand-in.
 */
import { createUpstreamGuard, SsrfError, type CheckedTarget, type ResolvedAddress, type UpstreamGuard } from '../../functions/net/index.js';

export interface GuardCheck {
  url: string;
  allowPrivateNetwork: boolean;
  /** `allowed`, or the SsrfError reason. */
  verdict: string;
}

export interface StandInGuard extends UpstreamGuard {
  checks: GuardCheck[];
}

/**
 * @param dns host name → the addresses public DNS would answer (anything else: ENOTFOUND)
 * @param standIns host name → the local base URL (`http://127.0.0.1:port/path`) that replaces the checked base URL
 */
export function standInGuard(dns: Record<string, ResolvedAddress[]>, standIns: Record<string, string>): StandInGuard {
  const real = createUpstreamGuard({
    resolve: async (hostname) => {
      const answers = dns[hostname];
      if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return answers;
    },
  });
  const checks: GuardCheck[] = [];
  return {
    checks,
    async check(baseUrl, opts) {
      let target: CheckedTarget;
      try {
        target = await real.check(baseUrl, opts);
      } catch (err) {
        checks.push({ url: baseUrl, allowPrivateNetwork: opts.allowPrivateNetwork, verdict: err instanceof SsrfError ? err.reason : 'error' });
        throw err;
      }
      checks.push({ url: baseUrl, allowPrivateNetwork: opts.allowPrivateNetwork, verdict: 'allowed' });
      const local = standIns[target.hostname];
      if (local === undefined) return target;
      const url = new URL(local);
      return { url, hostname: url.hostname, address: url.hostname, family: 4, port: Number(url.port) };
    },
  };
}
