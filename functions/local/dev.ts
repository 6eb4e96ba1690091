import './awslambda.js';
import { resolve } from 'node:path';
import { FileControlStore } from '../stores/file-store.js';
import { generateGatewayKey } from '../stores/keys.js';
import { generateAdminKey } from '../console/admin-keys.js';
import { FileAdminStore } from '../console/admin-store.js';
import { issueNonce } from '../console/session-auth.js';
import { startLocalServer, type LocalServer } from './server.js';
import { batchWrites } from './batched-stdout.js';
import { exitOnStopSignals, type StopSignalOptions } from './shutdown.js';
import { warmLocalTraceIndex } from '../traces/warm-index.js';

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
  /** Coalesce stdout writes per event-loop turn (functions/local/batched-stdout.ts): the CLI's own process only. */
  batchStdout?: boolean;
}

/**
 * `npm start` / `sluice dev`: the gateway on its embedded defaults. Serves the very
 * handler module Lambda runs (functions/gateway/handler.ts), on the file-backed store.
 * On first run it creates a demo proxy and key and prints how to call it.
 */
export async function runDev(opts: DevOptions): Promise<LocalServer> {
  const print = opts.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  if (opts.batchStdout) batchWrites(process.stdout);
  const dataDir = resolve(opts.dataDir);
  process.env.SLUICE_DATA_DIR = dataDir;
  process.env.SLUICE_STORE ??= 'file';
  const demo = await ensureDemo(dataDir);
  // Imported only now, so the handler module reads the environment set above.
  const { handler } = await import('../gateway/handler.js');
  const coalesce = Number(process.env.SLUICE_LOCAL_COALESCE_BYTES ?? 0);
  const server = await startLocalServer({ handler, port: opts.port, host: opts.host, coalesceBytes: Number.isFinite(coalesce) ? coalesce : 0 });
  // The console's trace index is built in the background from now on, not on its first page.
  warmLocalTraceIndex(process.env);
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
  // The console answers only Host 127.0.0.1:PORT / localhost:PORT (read per request).
  process.env.SLUICE_LOCAL_PORT = String(server.port);
  const consoleLink = await consoleSignInLink(dataDir, server.port);
  print(welcome(server.url, demo, dataDir, consoleLink));
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

/** The admin key the local sign-in links sign in as. */
export const LOCAL_CONSOLE_KEY_NAME = 'local-console';

/**
 * A fresh single-use sign-in link (10 minutes) for the console, on every start. It signs in
 * as the data dir's `local-console` admin key (role admin), made on first start; that key's
 * secret is never printed or kept: the link's token is a nonce, not the key.
 */
export async function consoleSignInLink(dataDir: string, port: number): Promise<string> {
  const admin = new FileAdminStore(dataDir);
  let key = (await admin.listKeys()).find((k) => k.name === LOCAL_CONSOLE_KEY_NAME && !k.revokedAt);
  if (!key) {
    const { id, hash } = generateAdminKey();
    key = { id, hash, role: 'admin', name: LOCAL_CONSOLE_KEY_NAME, createdAt: new Date().toISOString() };
    await admin.putKey(key);
  }
  const nonce = await issueNonce(admin, key.id, Date.now());
  return `http://127.0.0.1:${port}/console/#token=${nonce}`;
}

function welcome(url: string, demo: DemoInfo, dataDir: string, consoleLink: string): string {
  const key = demo.key ?? '<your sk-sluice-… key>';
  const lines = [
    `Sluice gateway listening on ${url}  (data: ${dataDir})`,
    `Console: ${consoleLink}  (sign-in link: single use, valid 10 minutes)`,
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
