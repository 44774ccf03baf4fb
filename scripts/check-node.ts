// Fails fast with a clear message when npm scripts run on a Node older than the pinned 24:
// @kubernetes/client-node 2.x crashes on Node 20, so a silent fallback would mislead.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `Siskin needs Node.js >= 24; this is ${process.version}. Run 'npm ci' so the pinned ` +
      `'node' devDependency puts Node 24 in node_modules/.bin (npm scripts use it).`,
  );
  process.exit(1);
}
