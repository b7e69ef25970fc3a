/** CLI: npx tsx tests/server/main.ts --port 8080 [--data-dir DIR] [--flavour nc31] [--hostile] [--verbose] */
import { startStandIn, type StandInOptions } from './index';

const args = process.argv.slice(2);
const opts: StandInOptions = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const next = (): string => {
    const v = args[++i];
    if (v === undefined) throw new Error(`missing value for ${a}`);
    return v;
  };
  if (a === '--port') opts.port = Number(next());
  else if (a === '--data-dir') opts.dataDir = next();
  else if (a === '--flavour' || a === '--flavor') {
    const f = next();
    if (f !== 'main' && f !== 'nc31') throw new Error('--flavour must be main or nc31');
    opts.flavour = f;
  } else if (a === '--hostile') opts.hostilePage = true;
  else if (a === '--verbose' || a === '-v') opts.log = (line) => console.error(line);
  else if (a === '--help' || a === '-h') {
    console.log(
      'usage: tsx tests/server/main.ts [--port N] [--data-dir DIR] [--flavour main|nc31] [--hostile] [--verbose]',
    );
    process.exit(0);
  } else throw new Error(`unknown argument ${a}`);
}
const standIn = await startStandIn(opts);
console.log(standIn.url);
const stop = (): void => {
  void standIn.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
