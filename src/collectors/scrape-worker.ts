/** Entry point of a scrape worker thread: see scrape-worker-run.ts. */
import { runScrapeWorker } from './scrape-worker-run.js';

runScrapeWorker();
