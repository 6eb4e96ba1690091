/**
 * V8 heap flags for a long-running gateway process (`npm start`, the container server).
 * Measured in bench/results/soak.md: with Node 24's defaults the young generation alone
 * grows past 150 MiB under c = 32 and RSS settles near 340 MiB although the live heap
 * after GC is ~30 MiB; an 8 MiB semi-space and a 128 MiB old space keep RSS under 200 MiB
 * at the same throughput. The old-space limit leaves room for the bounded trace queues
 * (SLUICE_TRACE_QUEUE_BYTES, 8 MiB per destination, and as much waiting for the spool).
 * package.json's `start` script passes exactly these (test/unit/local/node-flags.test.ts).
 */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=128'] as const;
