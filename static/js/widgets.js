// View: pieces more than one card draws. The lookup by data-testid, a PID's chip, and a
// burst's summary (the workers card's and the lab card's). Styles: css/widgets.css.

import { pidClass } from './colors.js';
import { formatMs, plural } from './format.js';

const BROWSER_CONNECTIONS = 6; // what Chromium and Firefox open at most to one server over HTTP/1.1

// Elements are found by their data-testid, the same hooks the tests use.
export function byTestId(id) {
  return $(`[data-testid=${id}]`);
}

export function pidChip(pid) {
  return $('<span>', { class: `pid-chip ${pidClass(pid)}`, text: pid });
}

const SUMMARY_ATTRS = 'data-burst data-requests data-failed data-pids data-hosts data-per-pid data-max-in-flight data-wall-ms';

// $el says `text` and no burst's figures any more.
export function clearBurstSummary($el, text) {
  return $el.empty().removeAttr(SUMMARY_ATTRS).text(text);
}

// A burst summed up, into $el (emptied first), which is given back for a caller with more to
// say. title: how it starts; alone: what to say of one request's time.
export function showBurstSummary($el, burst, summary, { title, alone }) {
  $el.empty().attr({
    'data-burst': burst,
    'data-requests': summary.answered,
    'data-failed': summary.failed,
    'data-pids': summary.pids.length,
    'data-hosts': summary.hosts,
    'data-per-pid': summary.perPid.map(([pid, count]) => `${pid}:${count}`).join(' '),
    'data-max-in-flight': summary.maxInFlight,
    'data-wall-ms': Math.round(summary.wallMs),
  });
  // Each PID with how many it answered: the workers race for connections, no round-robin.
  const chips = summary.perPid.map(([pid, count]) =>
    pidChip(pid).attr('title', `PID ${pid} answered ${count}`).append($('<span>', { class: 'times', text: ` ×${count}` })),
  );
  $el.append(
    $('<strong>', { text: `${title}: ` }),
    `${summary.answered} of ${summary.sent} answered by `,
    summary.hosts > 1 ? $('<strong>', { text: `${summary.hosts} hosts` }) : '',
    summary.hosts > 1 ? ', ' : '',
    $('<strong>', { text: `${summary.pids.length} ${plural(summary.pids.length, 'process', 'processes')}` }),
    ' ',
    ...chips,
    $('<br>'),
    'at most ',
    $('<strong>', { text: summary.maxInFlight }),
    ` ${plural(summary.maxInFlight, 'request', 'requests')} on the server at once; all done in `,
    $('<strong>', { text: formatMs(summary.wallMs) }),
    `${alone}.`,
  );
  if (summary.sent > BROWSER_CONNECTIONS) {
    $el.append(
      $('<br>'),
      $('<span>', {
        class: 'note',
        text: `A browser opens at most ${BROWSER_CONNECTIONS} connections to one server: the rest wait their turn in the browser.`,
      }),
    );
  }
  if (summary.failed) {
    $el.append($('<br>'), `${summary.failed} failed: ${summary.failure.message}`);
  }
  return $el;
}
