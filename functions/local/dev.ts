import './awslambda.js';
import { resolve } from 'node:path';
import { FileControlStore } from '../stores/file-store.js';
import { generateGatewayKey } from '../stores/keys.js';
import { startLocalServer, type LocalServer } from './server.js';
import { exitOnStopSignals, type StopSignalOptions } from './shutdown.js';

export interface DevOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Where to print the welcome text (default: stdout). */
  print?: (text: string) => void;
  /**
   * Stop cleanly on SIGTERM/SIGINT (drain, flush, exit 0): installed before the welcome is
   * printed, so a signal sent as soon as the URL shows is already handled.
   */
  stopOnSignals?: StopSignalOptions;
}

/**
 * `npm start` / `sluice dev`: the gateway on its embedded defaults. Serves the very
 * handler module Lambda runs (functions/gateway/handler.ts), on the file-backed store.
 * On first run it creates a demo proxy and key and prints how to call it.
 */
export async function runDev(opts: DevOptions): Promise<LocalServer> {
  const print = opts.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const dataDir = resolve(opts.dataDir);
  process.env.SLUICE_DATA_DIR = dataDir;
  process.env.SLUICE_STORE ??= 'file';
  const demo = await ensureDemo(dataDir);
  // Imported only now, so the handler module reads the environment set above.
  const { handler } = await import('../gateway/handler.js');
  const coalesce = Number(process.env.SLUICE_LOCAL_COALESCE_BYTES ?? 0);
  const server = await startLocalServer({ handler, port: opts.port, host: opts.host, coalesceBytes: Number.isFinite(coalesce) ? coalesce : 0 });
  // Traces are queued, not awaited, after a request's last byte: a stop drains requests, then the queues.
  const { flushTraces } = await import('../gateway/handler.js');
  if (opts.stopOnSignals) {
    const stop = opts.stopOnSignals;
    exitOnStopSignals(server, {
      ...stop,
      flush: async () => {
        await stop.flush?.();
        await flushTraces();
      },
    });
  }
  print(welcome(server.url, demo, dataDir));
  return server;
}

interface DemoInfo {
  created: boolean;
  key?: string;
  credentialSet: boolean;
}

async function ensureDemo(dataDir: string): Promise<DemoInfo> {
  const store = new FileControlStore({ dataDir });
  const credentialSet = Boolean(process.env.OPENAI_API_KEY);
  if (await store.getProxy('demo')) return { created: false, credentialSet };
  const now = new Date().toISOString();
  await store.putProxy({
    id: 'demo',
    orgId: 'default',
    name: 'Demo proxy (OpenAI)',
    provider: 'openai',
    baseUrl: 'https://api.openai.com/v1',
    credentialRef: 'env:OPENAI_API_KEY',
    byok: false,
    allowPrivateNetwork: false,
    createdAt: now,
  });
  const { key, id, hash } = generateGatewayKey();
  await store.putKey({ id, hash, proxyId: 'demo', orgId: 'default', name: 'demo', createdAt: now });
  return { created: true, key, credentialSet };
}

function welcome(url: string, demo: DemoInfo, dataDir: string): string {
  const key = demo.key ?? '<your sk-sluice-… key>';
  const lines = [
    `Sluice gateway listening on ${url}  (data: ${dataDir})`,
    '',
    demo.created
      ? `Created proxy "demo" (OpenAI) and a gateway key. It is shown ONCE — copy it now:\n\n  ${key}\n`
      : 'Proxy "demo" exists. Create a key with:  npm run sluice -- keys create --proxy demo',
    demo.credentialSet
      ? 'Provider credential: OPENAI_API_KEY is set.'
      : 'Provider credential: OPENAI_API_KEY is not set — calls will answer 502 until you export it (or point a proxy at another provider, see README).',
    '',
    'Try it:',
    `  curl ${url}/v1/chat/completions \\`,
    `    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
    `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    '  // OpenAI SDK (Node)',
    `  const client = new OpenAI({ baseURL: '${url}/a/demo/openai/v1', apiKey: '${key}' });`,
    `  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });`,
  ];
  return lines.join('\n');
}
