// Numbers and words as the page writes them. No DOM here.

export function plural(n, one, many) {
  return n === 1 ? one : many;
}

// "4 processes × 1 thread"
export function shape(workers, threads) {
  return `${workers} ${plural(workers, 'process', 'processes')} × ${threads} ${plural(threads, 'thread', 'threads')}`;
}

// [a, b, c] -> [a, ', ', b, ' or ', c], flat: each item is a text, an element, or an array of them.
export function listOf(items) {
  return items.flatMap((item, i) => [i ? (i === items.length - 1 ? ' or ' : ', ') : '', ...[].concat(item)]);
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function formatBytes(bytes) {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return bytes >= 1e3 ? `${Math.round(bytes / 1e3)} KB` : `${bytes} bytes`;
}

export function formatPercent(p) {
  const percent = p * 100;
  if (percent >= 99.95) return '100%';
  return percent >= 1 ? `${percent.toFixed(0)}%` : percent >= 0.05 ? `${percent.toFixed(1)}%` : '0%';
}

export function clockTime(epochSeconds) {
  const date = new Date(epochSeconds * 1000);
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

// A tab's short code, from its client id ("tab-" and 16 hex digits): what the class wall shows
// for a student who gave no name, and the name field's placeholder on their phone.
export function shortCode(clientId) {
  return clientId ? clientId.slice(-4).toUpperCase() : '';
}

// The end of an id: ours open with 16 hex digits of the worker, the same on all its rows.
export function shortId(id) {
  return id.length > 10 ? `…${id.slice(-8)}` : id;
}
