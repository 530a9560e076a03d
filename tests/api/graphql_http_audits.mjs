// graphql-http's GraphQL-over-HTTP audits (serverAudits) against a running server:
// `node tests/api/graphql_http_audits.mjs http://127.0.0.1:8000/graphql` prints one JSON
// array, one {id, name, status, reason, status_code} per audit (tests/api/test_graphql_over_http.py).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
    status_code: result.status === 'ok' ? null : result.response.status,
  });
}
process.stdout.write(JSON.stringify(results));
