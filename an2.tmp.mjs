import * as esbuild from 'esbuild';
const r = await esbuild.build({
  entryPoints: ['functions/gateway/handler.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node24',
  mainFields: ['module','main'], minify: true, metafile: true, write: false, splitting: true,
  outdir: '/tmp/i17b/out-split', entryNames: 'index', outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
const outs = r.metafile.outputs;
const start = Object.keys(outs).find(k => k.endsWith('index.mjs'));
const seen = new Set(); const q=[start];
while (q.length) { const f=q.pop(); if (seen.has(f)) continue; seen.add(f); for (const i of outs[f].imports) if (!i.external && i.kind==='import-statement') q.push(i.path); }
let init=0; const byPkg=new Map();
for (const f of seen) { init += outs[f].bytes; for (const [inp,v] of Object.entries(outs[f].inputs)) { const m = inp.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const k = m ? m[1] : inp.split('/').slice(0,2).join('/'); byPkg.set(k,(byPkg.get(k)||0)+v.bytesInOutput);} }
let total=0; for (const [f,o] of Object.entries(outs)) if(!f.endsWith('.map')) total+=o.bytes;
console.log('init', init, 'files', seen.size, 'total', total);
console.log([...byPkg].sort((a,b)=>b[1]-a[1]).slice(0,40).map(([k,v])=>`${k} ${v}`).join('\n'));
