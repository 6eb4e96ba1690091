// Child process entry: the test upstream on its own event loop, so the benchmark's
// client and each gateway do not share a process with it.
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';

const upstream = await startOpenAIUpstream({ apiKey: process.env.BENCH_UPSTREAM_KEY, record: false });
process.stdout.write(`UPSTREAM_URL=${upstream.url}\n`);
process.on('SIGTERM', () => {
  void upstream.close().then(() => process.exit(0));
});
