// Preloaded (node --import) into a profiled child: SIGTERM exits through process.exit,
// so `--cpu-prof` writes its profile (the default SIGTERM action would not).
process.once('SIGTERM', () => process.exit(0));
