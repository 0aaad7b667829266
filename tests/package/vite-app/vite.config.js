// A production build as an o1js app makes one: o1js's bundle uses top-level
// await, so the target is esnext, and workers are ES modules (the isolate
// worker imports its own o1js).
export default {
  build: { target: 'esnext', manifest: true, chunkSizeWarningLimit: 64 * 1024 },
  worker: { format: 'es' },
};
