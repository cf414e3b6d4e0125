#!/usr/bin/env node
// Entry point for `npx sfa`. The sources are TypeScript, run as they are: Node >= 22.18 strips the
// types itself, so there is no build step and no loader.
if (!process.features.typescript) {
  process.stderr.write(`sfa needs Node >= 22.18 with its TypeScript type stripping (this is ${process.version}). \`npx sfa\` uses the project's own Node (npm run setup).\n`);
  process.exit(2);
}
// A reader that stops early (`sfa models list | head -1`) ends the output, not the command: later writes are dropped.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
