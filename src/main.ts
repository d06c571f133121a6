/**
 * Composition root for the command line: `warmgate <command> [args]`. Each command lives
 * in src/cli/ and returns its exit code.
 */
import { serveCommand } from './cli/serve.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
  'make-model': async (argv) => (await import('./cli/make-model.js')).makeModelCommand(argv),
  estimate: async (argv) => (await import('./cli/estimate.js')).estimateCommand(argv),
  doctor: async (argv) => (await import('./cli/doctor.js')).doctorCommand(argv),
  'setup-llama-server': async (argv) => (await import('./cli/setup-llama-server.js')).setupLlamaServerCommand(argv),
};

const [name = 'serve', ...rest] = process.argv.slice(2);
const command = name.startsWith('-') ? serveCommand : commands[name];
if (!command) {
  process.stderr.write(`warmgate: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}\n`);
  process.exit(2);
}
const code = await command(name.startsWith('-') ? [name, ...rest] : rest);
process.exit(code);
