import type { Command } from 'commander';
import { probeBackends, probeCuda, type CudaReport } from '../index.js';
import { coresGiven, defaultWorkerCount, libuvPoolSize, describeTorchAutograd } from '../index.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('say which tfjs backends are usable here, which is the default, and why the others are not; the CUDA devices the torch backend sees; and how many threads decode images')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const probes = await probeBackends();
      const best = probes.find((p) => p.usable);
      const decoding = { cores: coresGiven(), workers: defaultWorkerCount(), libuvPool: libuvPoolSize() };
      const cuda = await probeCuda();
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ default: best?.name ?? null, backends: probes, cuda, autogradOnTorch: describeTorchAutograd(), imageDecoding: decoding }, null, 2)}\n`);
        return;
      }
      for (const p of probes) {
        const mark = p === best ? 'default' : p.usable ? 'usable' : 'no';
        process.stdout.write(`${p.name.padEnd(15)} ${mark.padEnd(8)} ${p.usable ? `device ${p.device}${p.threads ? `, ${p.threads} threads` : ''}` : p.reason}\n`);
      }
      process.stdout.write(`${cudaLine(cuda)}\n`);
      process.stdout.write(`autograd on torch: ${describeTorchAutograd()}\n`);
      process.stdout.write(
        `image decoding: ${decoding.workers} worker(s) by default for ${decoding.cores} core(s) given (dataset.workers or --workers to change), libuv pool ${decoding.libuvPool} thread(s)\n`,
      );
    });
}

/** One line: each CUDA device with its capability and memory, or why there is none. */
export function cudaLine(cuda: CudaReport | null): string {
  if (cuda === null) return 'cuda: unknown (the torch addon is not built here, or predates the CUDA report: npm run build:torch)';
  const libtorch = `libtorch ${cuda.libtorchCuda ? 'with' : 'without'} CUDA`;
  if (cuda.devices.length === 0) return `cuda: none (${cuda.reason ?? 'no device'}; ${libtorch})`;
  const devices = cuda.devices.map((d) => `cuda:${d.index} ${d.name}, capability ${d.capability}, ${(d.memoryMB / 1024).toFixed(1)} GiB`).join('; ');
  return `cuda: ${devices} (driver CUDA ${cuda.driver ?? '?'}; ${libtorch})`;
}
