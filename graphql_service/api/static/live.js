// Live updates: GraphQL subscriptions over graphql-transport-ws at the page's own /graphql,
// through the vendored graphql-ws client (it does the protocol's handshake, pings, ids and
// reconnecting with back-off, which a hand-written client would have to get right again).
//
// The page asks one question of this module: is the connection up ("live") or not
// ("polling")? While it is down the page polls over HTTP and graphql-ws keeps trying to
// reconnect in the background; once it is back, it re-subscribes and the polling stops.

const MAX_RETRY_WAIT_MS = 30_000;

function websocketUrl(path) {
  const url = new URL(path, document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

// 1 s, 2 s, 4 s … at most 30 s, with jitter so many open dashboards do not reconnect at once.
function retryWait(retries) {
  const wait = Math.min(1000 * 2 ** retries, MAX_RETRY_WAIT_MS);
  return new Promise((resolve) => window.setTimeout(resolve, wait / 2 + Math.random() * (wait / 2)));
}

function describeClose(event) {
  if (event && typeof event.code === "number") {
    if (event.code === 4403) return "the server refused the API key";
    return event.reason ? `closed: ${event.reason}` : `closed (code ${event.code})`;
  }
  return event instanceof Error ? event.message : "cannot connect";
}

/**
 * `onMode(mode, why)` is told "live" when the connection is acknowledged and "polling" (with
 * the reason) when it cannot open or closes. The key, if any, goes in connection_init's
 * payload: browsers cannot set headers on a websocket.
 */
export function connectLive({ path, key, onMode }) {
  const graphqlWs = window.graphqlWs;
  if (!graphqlWs || typeof window.WebSocket !== "function") {
    onMode("polling", "the websocket client did not load");
    return null;
  }
  let disposed = false;
  const report = (mode, why) => {
    if (!disposed) onMode(mode, why);
  };
  const client = graphqlWs.createClient({
    url: websocketUrl(path),
    lazy: false, // connect at once: the mode is known before the first subscription
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    connectionAckWaitTimeout: 5000,
    keepAlive: 20_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait,
    on: {
      connected: () => report("live", null),
      closed: (event) => report("polling", describeClose(event)),
    },
    onNonLazyError: (error) => report("polling", describeClose(error)),
  });
  return {
    /** Runs `query`; `onData(data)` for each result. Returns a function that ends it. */
    subscribe(query, variables, onData, onError) {
      let active = true;
      const stop = client.subscribe(
        { query, variables },
        {
          next: (result) => {
            if (!active) return;
            if (Array.isArray(result.errors) && result.errors.length > 0) {
              onError(new Error(result.errors.map((error) => error.message).join("; ")));
            } else if (result.data) {
              onData(result.data);
            }
          },
          error: (error) => {
            if (!active) return;
            const message = Array.isArray(error) ? error.map((e) => e.message).join("; ") : describeClose(error);
            onError(new Error(message));
          },
          complete: () => {},
        },
      );
      return () => {
        active = false;
        stop();
      };
    },
    dispose() {
      disposed = true;
      client.dispose();
    },
  };
}
