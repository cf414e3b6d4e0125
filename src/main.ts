// `npm start`: placeholder until the bot and worker roles land (issues 4 and 5).
console.error('npm start: the bot and worker roles are not built yet; use `npx sfa` for now.');
process.exitCode = 1;
