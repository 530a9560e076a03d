// A browser client of the player session service: plain JavaScript, no build step, no
// library. Load it with <script src="client.js"></script>; the page's origin must be listed in
// the service's CORS_ALLOW_ORIGINS.
//
//   const client = new PlayerSessionClient("https://sessions.example.com", "an-ingest-key");
//   client.start("alice", crypto.randomUUID(), new Date(), "FI");
//   await client.flush();                        // {accepted: 1, expired: 0}
//   const sessions = await client.sessions("alice");

class PlayerSessionClient {
  static MAX_BATCH = 10; // the service takes 1 to 10 events per request
  static MAX_ATTEMPTS = 6;

  constructor(baseUrl, apiKey) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.headers = apiKey ? { "X-API-Key": apiKey } : {};
    this.pending = [];
  }

  // Date.toISOString() is UTC with its "Z": the service reads it exactly.
  start(playerId, sessionId, at, country) {
    this.pending.push({ event: "start", player_id: playerId, session_id: sessionId, ts: at.toISOString(), country });
  }

  end(playerId, sessionId, at) {
    this.pending.push({ event: "end", player_id: playerId, session_id: sessionId, ts: at.toISOString() });
  }

  // Sends every pending event, at most MAX_BATCH per request; resolves to the totals stored.
  async flush() {
    const totals = { accepted: 0, expired: 0 };
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, PlayerSessionClient.MAX_BATCH);
      const answer = await this.postEvents(batch);
      this.pending.splice(0, batch.length); // only once the service has taken them
      totals.accepted += answer.accepted;
      totals.expired += answer.expired;
    }
    return totals;
  }

  async postEvents(batch) {
    for (let attempt = 1; ; attempt++) {
      // sent_at is this device's clock as the request leaves: the service corrects every ts by
      // the difference to its own clock, so a device with a wrong clock still counts.
      const json = JSON.stringify({ rows: batch, sent_at: new Date().toISOString() });
      const body = await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
      let response = null;
      try {
        response = await fetch(`${this.baseUrl}/events`, {
          method: "POST",
          headers: {
            ...this.headers,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            Accept: "application/json", // {accepted, expired} instead of "POST success"
          },
          body,
        });
      } catch (networkError) {
        // No answer at all (offline, or refused by CORS): sending again is safe.
        if (attempt >= PlayerSessionClient.MAX_ATTEMPTS) throw networkError;
      }
      if (response && response.ok) return response.json();
      if (response && response.status !== 503) {
        // A 4xx names the problem; sending the same batch again would not help.
        const problem = await response.json();
        throw new Error(`POST /events: ${response.status} ${problem.error}`);
      }
      if (attempt >= PlayerSessionClient.MAX_ATTEMPTS) {
        throw new Error(`POST /events: still unavailable after ${attempt} attempts`);
      }
      // 503: Cassandra is unavailable. Every write is idempotent, so the whole batch goes again.
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response, attempt)));
    }
  }

  // The player's last complete sessions, newest first, over GraphQL.
  async sessions(playerId, last = 20) {
    const query = `query Sessions($id: ID!, $last: Int!) {
      player(id: $id) { sessions(last: $last) { sessionId country startTs endTs durationSeconds } }
    }`;
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: "POST",
      headers: { ...this.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ query, variables: { id: playerId, last } }),
    });
    const answer = await response.json();
    if (!response.ok || answer.errors) {
      throw new Error(`GraphQL: ${JSON.stringify(answer.errors || answer.error)}`);
    }
    return answer.data.player.sessions;
  }
}

// Exponential backoff with jitter, never sooner than the service's Retry-After (a header the
// service lets pages read).
function retryDelayMs(response, attempt) {
  const backoff = Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
  const retryAfter = Number(response ? response.headers.get("Retry-After") : NaN);
  return Number.isFinite(retryAfter) ? Math.max(retryAfter * 1000, backoff) : backoff;
}
