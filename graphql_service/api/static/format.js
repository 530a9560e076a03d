// How the dashboard writes numbers and times: thousands separators, H:MM:SS durations, UTC.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

// 1234567 → "1,234,567"
export function formatCount(value) {
  return integer.format(value);
}

// "2026-11-26 11:30:00", with milliseconds only when there are some (they are stored).
export function formatUtc(iso) {
  const text = new Date(iso).toISOString();
  const millis = text.slice(19, 23);
  return text.slice(0, 10) + " " + text.slice(11, 19) + (millis === ".000" ? "" : millis);
}

// H:MM:SS (hours never wrap into days), with milliseconds only when there are some.
export function formatDuration(seconds) {
  const totalMillis = Math.round(seconds * 1000);
  const millis = totalMillis % 1000;
  const whole = (totalMillis - millis) / 1000;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const clock = `${formatCount(h)}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return millis === 0 ? clock : `${clock}.${String(millis).padStart(3, "0")}`;
}

export function describeHours(hours) {
  if (hours === 1) return "hour";
  if (hours % 24 === 0) return hours === 24 ? "24 hours" : `${hours / 24} days`;
  return `${formatCount(hours)} hours`;
}

const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

// "FI · Finland"; a code the browser has no name for stays a bare code.
export function countryLabel(code) {
  let name;
  try {
    name = regionNames.of(code);
  } catch {
    name = null; // not a region code the browser accepts
  }
  return name && name !== code ? `${code} · ${name}` : code;
}
