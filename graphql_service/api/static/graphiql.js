// GraphiQL for this service: React, GraphiQL and its explorer plugin are the vendored files
// the page loads before this one (no CDN), and queries go to the URL the page came from.
"use strict";

(function () {
  // Unnamed on purpose: GraphiQL keeps a named operation's name for a moment after its text
  // is replaced, and would send the new query under the old name.
  const DEFAULT_QUERY = `# Player sessions over GraphQL. Run with Ctrl-Enter (or the ▶ button);
# the Docs and Explorer panels on the left show the whole schema.
# With API_KEYS or READ_API_KEYS set on the service, add {"X-API-Key": "<key>"}
# under Headers below.

{
  player(id: "player-1") {
    stats { completedSessions totalSeconds averageSeconds lastSessionEnd }
    sessions(last: 5) { sessionId country startTs endTs durationSeconds }
  }
  sessionStartsByCountry(hours: 24) { country sessionStarts }
}
`;
  // `?q=` opens a query (a link to share); `?query=` would run it as a GET instead.
  const shared = new URLSearchParams(window.location.search).get("q");
  const fetcher = GraphiQL.createFetcher({ url: window.location.href.split(/[?#]/)[0] });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  function PlayerSessionsGraphiQL() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: DEFAULT_QUERY,
      query: shared ?? undefined,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Headers hold API keys: kept for this tab only, never written to localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(PlayerSessionsGraphiQL));
})();
