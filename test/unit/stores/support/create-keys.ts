// Child process for the concurrency test: creates N keys in the file store at DATA_DIR.
import { FileControlStore } from '../../../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../../../functions/stores/keys.js';

const [dataDir, countText, label] = process.argv.slice(2);
if (!dataDir || !countText || !label) throw new Error('usage: create-keys.ts <dataDir> <count> <label>');
const store = new FileControlStore({ dataDir });
// Wait for the parent's go signal (a file) so both children start writing together.
const { existsSync, writeFileSync } = await import('node:fs');
writeFileSync(`${dataDir}/ready-${label}`, '');
while (!existsSync(`${dataDir}/go`)) await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < Number(countText); i++) {
  const { id, hash } = generateGatewayKey();
  await store.putKey({ id, hash, proxyId: 'p1', orgId: 'default', name: `${label}-${i}`, createdAt: new Date().toISOString() });
}
process.stdout.write(`${label} done\n`);
