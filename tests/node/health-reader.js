// A worker_thread that reads the pool's health through a port to the
// supervisor (openPoolHealthPort / poolHealthReader), as a metrics endpoint
// in its own thread would, while the main thread proves. On 'start' it reads
// every few ms, each read bounded; on 'stop' it posts what it read (again
// and again: tests/conformance watches several proofs with one reader).
import { parentPort, workerData } from 'node:worker_threads';

const { poolHealthReader } = await import(new URL(`../../build/o1js/${workerData.variant}/lib/proof-system/pool-api.js`, import.meta.url).href);
const read = poolHealthReader(workerData.port);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let reading = false;
const samples = [];
const failures = [];

async function loop() {
  while (reading) {
    const asked = Date.now();
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5000 ms')), 5_000)));
    try {
      const health = await Promise.race([read(), late]);
      samples.push({ askedMs: asked, answeredMs: Date.now(), state: health.state, phase: health.recycle?.phase ?? null, generation: health.generation, inFlight: health.inFlight });
      if (samples.length === 1) parentPort.postMessage({ type: 'reading' });
    } catch (error) {
      failures.push(String(error?.message ?? error));
    } finally {
      clearTimeout(timer);
    }
    await sleep(5);
  }
  parentPort.postMessage({ type: 'samples', samples, failures });
}

parentPort.on('message', (message) => {
  if (message === 'start' && !reading) {
    samples.length = 0;
    failures.length = 0;
    reading = true;
    void loop();
  } else if (message === 'stop') reading = false;
});
parentPort.postMessage({ type: 'loaded' });
