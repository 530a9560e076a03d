// The trend: session starts per UTC hour or day, from GET /session-starts/series, with the
// empty buckets (the API leaves them out) filled in as zeros so the chart's axis is even.

export const RANGES = {
  "24h": { hours: 24, step: "hour", text: "per hour over the last 24 hours" },
  "7d": { hours: 168, step: "day", text: "per day over the last 7 days" },
  "30d": { hours: 720, step: "day", text: "per day over the last 30 days" },
};

const STEP_MS = { hour: 3_600_000, day: 86_400_000 };

function floorTo(ms, step) {
  return ms - (ms % STEP_MS[step]); // UTC hours and days are whole multiples since the epoch
}

// Every bucket of the window [from, to): the first one starts before `from` when the window
// cuts it, as the API's do. Points of all countries in one bucket add up ("All countries").
export function fillBuckets(answer) {
  const step = answer.step;
  const end = Date.parse(answer.to);
  const counts = new Map();
  for (const point of answer.series) {
    const at = Date.parse(point.bucket_start);
    counts.set(at, (counts.get(at) ?? 0) + point.session_starts);
  }
  const buckets = [];
  for (let at = floorTo(Date.parse(answer.from), step); at < end; at += STEP_MS[step]) {
    buckets.push({ start: new Date(at).toISOString(), starts: counts.get(at) ?? 0 });
  }
  return buckets;
}

const hourLabel = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
const dayLabel = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });

// "14:00" for an hour ("27 Nov 00:00" where a day begins), "27 Nov" for a day.
export function bucketLabel(iso, step) {
  const at = new Date(iso);
  if (step === "day") return dayLabel.format(at);
  const time = hourLabel.format(at);
  return at.getUTCHours() === 0 ? `${dayLabel.format(at)} ${time}` : time;
}
