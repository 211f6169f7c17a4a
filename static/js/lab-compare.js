// View: the lab card's side-by-side, the last burst of each workload in each server shape this
// tab has seen (the server restarted in another MODE keeps the tab and its table): requests/s
// and CPU, and each row's requests/s over the slowest of its workload. Claim 4 on the page:
// fire the same workload in MODE=threads and MODE=processes and read the two rows.
// Styles: css/lab.css.

import { formatMs } from './format.js';
import { byTestId } from './widgets.js';

const el = { table: byTestId('lab-compare'), rows: byTestId('lab-compare-rows') };

// rows: state.lab.compared's values, each {mode, shape, kind, ms, n, rps, cpuPercent, wallMs, spare}
// (spare: the cores other work left free at the burst's end, null if not measured).
export function show(rows) {
  if (!rows.length) {
    el.table.prop('hidden', true);
    return;
  }
  const slowest = new Map();
  for (const row of rows) {
    const key = `${row.kind}|${row.ms}`;
    slowest.set(key, Math.min(slowest.get(key) ?? Infinity, row.rps));
  }
  el.rows.empty().append(
    rows.map((row) =>
      $('<tr>', { 'data-mode': row.mode, 'data-kind': row.kind, 'data-rps': row.rps.toFixed(2) }).append(
        $('<td>').append($('<code>', { text: `MODE=${row.mode}` }), ` ${row.shape}`),
        $('<td>', { text: `${row.n} × ${row.kind} ${row.ms} ms` }),
        $('<td>', { class: 'num', text: row.rps.toFixed(1) }),
        $('<td>', { class: 'num', text: `${Math.round(row.cpuPercent)} %` }),
        $('<td>', { class: 'num', text: formatMs(row.wallMs) }),
        $('<td>', { class: 'num', text: row.spare === null ? '–' : row.spare.toFixed(1) }),
        $('<td>', { class: 'num', text: `×${(row.rps / slowest.get(`${row.kind}|${row.ms}`)).toFixed(2)}` }),
      ),
    ),
  );
  el.table.prop('hidden', false);
}
