// View: the workers card. A card per worker process (live, or gone a minute ago), and under
// them the burst: its size, its button, its summary. Styles: css/workers.css.

import { pidClass } from './colors.js';
import { formatMs } from './format.js';
import { byTestId, clearBurstSummary, showBurstSummary as fillSummary } from './widgets.js';

const MB = 1024 * 1024;
const GONE_CARD_MS = 60000; // a dead worker's greyed card stays this long

const el = {
  panel: byTestId('worker-panel'),
  count: byTestId('worker-count'),
  burstSize: byTestId('burst-size'),
  burst: byTestId('burst'),
  burstSummary: byTestId('burst-summary'),
};

export function bind({ burst }) {
  el.burst.on('click', burst);
  el.burstSize.on('keydown', (event) => {
    if (event.key === 'Enter') burst();
  });
}

// -- the cards --------------------------------------------------------------------

// workers: [{pid, requests, busy, ready, rss_bytes, pss_bytes, cpu_seconds, cpuPercent, threads,
// recentlyActive, noNews}]; gone: [{pid, goneAt}]; down: [{host, since}], hosts seen before that
// list no worker now (several hosts only).
export function showWorkers(workers, gone, down = []) {
  const wanted = new Set();
  for (const worker of workers) {
    wanted.add(String(worker.pid));
    updateCard(cardFor(worker.pid).attr('data-host', worker.host), worker);
  }
  const now = Date.now();
  for (const dead of gone) {
    if (now - dead.goneAt > GONE_CARD_MS) continue;
    wanted.add(String(dead.pid));
    const $card = cardFor(dead.pid);
    $card.attr('data-state', 'gone').addClass('gone');
    $card.find('.state').text('stopped');
  }
  el.panel.children('[data-testid=worker]').each(function dropOld() {
    if (!wanted.has($(this).attr('data-pid'))) $(this).remove();
  });
  groupByHost(down);
  const unheard = workers.filter((worker) => worker.noNews).length;
  el.count.text(unheard ? `${workers.length - unheard} live, ${unheard} not heard from` : `${workers.length} live`);
}

// Several hosts: each host's cards together, in host order, under the host's name. One host:
// no headings, the cards as they are.
// A host that is down keeps its heading, which says so, until it lists workers again.
function groupByHost(down) {
  const $cards = el.panel.children('[data-testid=worker]');
  const downSince = new Map(down.map(({ host, since }) => [host, since]));
  const hosts = [...new Set([...$cards.map((_, card) => $(card).attr('data-host') || '').get(), ...downSince.keys()])].sort();
  el.panel.children('.host-heading').remove();
  if (hosts.length < 2) return;
  for (const host of hosts) {
    const since = downSince.get(host);
    const text = since === undefined ? host : `${host}: down since ${new Date(since).toLocaleTimeString()} (no worker listed)`;
    el.panel.append(
      $('<h4>', { class: 'host-heading', 'data-testid': 'host-heading', 'data-host': host, 'data-state': since === undefined ? 'up' : 'down', text }),
    );
    el.panel.append($cards.filter((_, card) => ($(card).attr('data-host') || '') === host));
  }
}

// What the cards say is from before the server went away.
export function showStale(stale) {
  el.panel.toggleClass('stale', stale);
}

// Found by comparing attributes, never by a selector built from data.
function cardFor(pid) {
  let $card = el.panel.children('[data-testid=worker]').filter((_, card) => card.getAttribute('data-pid') === String(pid));
  if ($card.length) return $card;
  $card = $('<article>', { class: `worker-card ${pidClass(pid)}`, 'data-testid': 'worker', 'data-pid': pid });
  $card.append(
    $('<header>').append($('<span>', { class: 'pid', text: `PID ${pid}` }), $('<span>', { class: 'state' })),
    $('<dl>').append(
      $('<dt>', { text: 'requests' }), $('<dd>', { class: 'requests' }),
      $('<dt>', { text: 'memory' }), $('<dd>', { class: 'memory' }),
      $('<dt>', { text: 'CPU' }), $('<dd>', { class: 'cpu' }),
    ),
  );
  el.panel.append($card);
  return $card;
}

function updateCard($card, worker) {
  // noNews: another host's worker while the shared store is unavailable: as last seen.
  const state = worker.noNews ? 'unknown' : !worker.ready ? 'starting' : worker.busy || worker.recentlyActive ? 'busy' : 'idle';
  $card.attr('data-state', state).removeClass('gone');
  $card.find('.state').text(state === 'unknown' ? 'no news' : state);
  $card.find('.requests').text(worker.requests);
  const memory = worker.pss_bytes || worker.rss_bytes;
  $card.find('.memory').text(memory ? `${Math.round(memory / MB)} MB` : '–');
  const percent = worker.cpuPercent === null ? '' : ` · ${Math.round(worker.cpuPercent)}%`;
  $card.find('.cpu').text(`${worker.cpu_seconds.toFixed(1)} s${percent}`);
}

// -- the burst ----------------------------------------------------------------------

// N, within the input's own min and max (else its default), written back where it changed.
export function readBurstSize() {
  const n = Math.round(Number(el.burstSize.val()));
  const size =
    !Number.isFinite(n) || n < Number(el.burstSize.attr('min'))
      ? Number(el.burstSize.prop('defaultValue'))
      : Math.min(n, Number(el.burstSize.attr('max')));
  el.burstSize.val(size);
  return size;
}

export function setBurstRunning(running) {
  el.burst.prop('disabled', running).text(running ? 'Sending…' : 'Send all at once');
}

export function showBurstNote(text) {
  clearBurstSummary(el.burstSummary, text);
}

export function showBurstPending(burst, n) {
  el.burstSummary.empty().removeAttr('data-requests').text(`Burst ${burst}: sending ${n} requests…`);
}

export function showBurstSummary(burst, summary) {
  const median = summary.medianServerMs;
  const alone = median === null ? '' : ` (one alone takes about ${formatMs(median)})`;
  fillSummary(el.burstSummary, burst, summary, { title: `Burst ${burst}`, alone });
}
