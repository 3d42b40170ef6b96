// Entry file of a worker process forked by the primary (node:cluster exec).
import { runWorker } from './worker.ts';

await runWorker();
