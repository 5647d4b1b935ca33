import type { Command } from 'commander';
import { probeBackends } from '../index.js';
import { coresGiven, defaultWorkerCount, libuvPoolSize, describeTorchAutograd } from '../index.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('say which tfjs backends are usable here, which is the default, and why the others are not; and how many threads decode images')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const probes = await probeBackends();
      const best = probes.find((p) => p.usable);
      const decoding = { cores: coresGiven(), workers: defaultWorkerCount(), libuvPool: libuvPoolSize() };
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ default: best?.name ?? null, backends: probes, imageDecoding: decoding }, null, 2)}\n`);
        return;
      }
      for (const p of probes) {
        const mark = p === best ? 'default' : p.usable ? 'usable' : 'no';
        process.stdout.write(`${p.name.padEnd(15)} ${mark.padEnd(8)} ${p.usable ? `device ${p.device}${p.threads ? `, ${p.threads} threads` : ''}` : p.reason}\n`);
      }
      process.stdout.write(`autograd on torch: ${describeTorchAutograd()}\n`);
      process.stdout.write(
        `image decoding: ${decoding.workers} worker(s) by default for ${decoding.cores} core(s) given (dataset.workers or --workers to change), libuv pool ${decoding.libuvPool} thread(s)\n`,
      );
    });
}
