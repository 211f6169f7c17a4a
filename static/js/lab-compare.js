// View: the lab card's side-by-side, the last burst of each workload in each server shape this
// tab has seen (the server restarted in another MODE keeps the tab and its table): requests/s
// and CPU, and each row's requests/s over the slowest of its workload. Claim 4 on the page:
// fire the same workload in MODE=threads and MODE=processes and read the two rows.
// Styles: css/lab.css.

import { formatMs } from './format.js';
import { byTestId } from './widgets.js';

const el = {
  table: byTestId('lab-compare'),
  rows: byTestId('lab-compare-rows'),
  clear: byTestId('lab-compare-clear'),
};

// clear(): the teacher empties the table (a new comparison).
export function bind({ clear }) {
  el.clear.on('click', clear);
}

// Only bursts alike are compared: the same workload, ms and N (a burst of 4 against one of 8
// compares the bursts, not the servers).
function burstKey(row) {
  return `${row.kind}|${row.ms}|${row.n}`;
}

// rows: state.lab.compared's values, each {mode, shape, pools, kind, ms, n, rps, cpuPercent,
// wallMs, spare} (pools: TensorFlow's intra/inter-op threads, null for other workloads; spare:
// the cores other work left free at the burst's end, null if not measured).
export function show(rows) {
  el.clear.prop('hidden', !rows.length);
  if (!rows.length) {
    el.table.prop('hidden', true);
    el.rows.empty();
    return;
  }
  const slowest = new Map();
  const alike = new Map();
  for (const row of rows) {
    const key = burstKey(row);
    slowest.set(key, Math.min(slowest.get(key) ?? Infinity, row.rps));
    alike.set(key, (alike.get(key) || 0) + 1);
  }
  el.rows.empty().append(
    rows.map((row) =>
      $('<tr>', { 'data-mode': row.mode, 'data-kind': row.kind, 'data-n': row.n, 'data-rps': row.rps.toFixed(2) }).append(
        $('<td>').append(
          $('<code>', { text: `MODE=${row.mode}` }),
          ` ${row.shape}`,
          row.pools ? `, TF pools ${row.pools}` : '',
        ),
        $('<td>', { text: `${row.n} × ${row.kind} ${row.ms} ms` }),
        $('<td>', { class: 'num', text: row.rps.toFixed(1) }),
        $('<td>', { class: 'num', text: `${Math.round(row.cpuPercent)} %` }),
        $('<td>', { class: 'num', text: formatMs(row.wallMs) }),
        $('<td>', { class: 'num', text: row.spare === null ? '–' : row.spare.toFixed(1) }),
        // Against the slowest burst alike; "–" with nothing alike to compare with yet.
        $('<td>', {
          class: 'num',
          text: alike.get(burstKey(row)) > 1 ? `×${(row.rps / slowest.get(burstKey(row))).toFixed(2)}` : '–',
        }),
      ),
    ),
  );
  el.table.prop('hidden', false);
}
