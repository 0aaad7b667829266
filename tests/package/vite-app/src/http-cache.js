// o1js's Cache interface over HTTP, read-only: the files Cache.FileSystem
// wrote in Node (same program, same keys), served at `baseUrl`, where
// `<id>.header` holds the uniqueId. read() is synchronous, as o1js wants: a
// synchronous XMLHttpRequest.
export function httpCache(baseUrl) {
  const get = (name) => {
    const request = new XMLHttpRequest();
    request.open('GET', `${baseUrl}${encodeURIComponent(name)}`, false);
    request.responseType = typeof document === 'undefined' ? 'arraybuffer' : '';
    if (typeof document !== 'undefined') request.overrideMimeType('text/plain; charset=x-user-defined');
    request.send();
    if (request.status !== 200) return undefined; // 204: not cached
    if (request.response instanceof ArrayBuffer) return new Uint8Array(request.response);
    // A page may not ask a synchronous request for an ArrayBuffer: the bytes come as a binary string.
    const text = request.responseText;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    return bytes;
  };
  return {
    read({ persistentId, uniqueId }) {
      const header = get(`${persistentId}.header`);
      if (header === undefined || new TextDecoder().decode(header) !== uniqueId) return undefined;
      return get(persistentId);
    },
    write() {
      throw new Error('read-only cache');
    },
    canWrite: false,
  };
}
