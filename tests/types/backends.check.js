// Type-level checks of the backends, compiled by tsconfig.backends.json and
// never run: `poolHealth()` and the glue's exports are typed (not `any`)
// through both backends. Each @ts-expect-error fails the build if the line
// below it stops being an error, e.g. because a type became `any`.
import * as node from '../../bindings-js/bindings/js/node/node-backend.js';
import * as web from '../../bindings-js/bindings/js/web/web-backend.js';

export async function typedHealth() {
  const fromNode = await node.poolHealth();
  const fromWeb = await web.poolHealth();
  /** @type {number} */
  const inFlight = fromNode.inFlight + fromWeb.memory.allocatorLiveBytes;
  /** @type {'uninit' | 'starting' | 'running' | 'recycling' | 'exiting' | 'poisoned'} */
  const state = fromWeb.state;
  // @ts-expect-error: the health has no such field
  fromNode.noSuchField;
  // @ts-expect-error: nor on the web
  fromWeb.noSuchField;
  // @ts-expect-error: the glue's own poolHealth() is typed too
  node.wasm.poolHealth().noSuchField;
  // @ts-expect-error: recycle reports are typed
  (await node.recycleThreadPool()).noSuchField;
  // @ts-expect-error: the glue's recycle options are checked
  await node.wasm.recycleThreadPool({ threads: 'two' });
  return { inFlight, state };
}
