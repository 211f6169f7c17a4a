// View: the page around the cards. The top bar (the server's mode, the machine's spare cores,
// the connection pill) and whether anyone looks at this tab. Styles: css/page.css.

import { plural, shape } from './format.js';
import { byTestId } from './widgets.js';

const el = {
  banner: byTestId('mode-banner'),
  spare: byTestId('spare-cores'),
  connection: byTestId('connection'),
  tokenProblem: byTestId('token-problem'),
  storeProblem: byTestId('store-problem'),
};

const TOKEN_REFUSED = '#token-refused'; // webapp/teacher.py: /?token= with a token not this server's

// hosts: how many hosts' workers the server lists (several behind nginx, with STORE=redis://...).
export function showMode(settings, hosts = 1) {
  const runtime = settings.runtime === 'litert' ? 'LiteRT' : settings.runtime;
  const onHosts = hosts > 1 ? `${hosts} hosts × ` : '';
  el.banner
    .empty()
    .append(
      $('<strong>', { text: onHosts + shape(settings.workers, settings.threads) }),
      ` · mode “${settings.mode}” · gunicorn ${settings.worker_class} workers · ${runtime} · `,
      gilText(settings),
    );
}

// Python's free-threaded build runs the threads of one process without the GIL (docs/teaching.md,
// "Without the GIL"), until an extension that is not ready for it turns the GIL back on at import.
function gilText(settings) {
  const on = settings.gil !== false;
  const span = $('<span>', { 'data-testid': 'gil', 'data-gil': on ? 'on' : 'off' });
  if (!settings.free_threaded) return span.text(`Python ${settings.python}, GIL on`);
  if (!on) return span.append(`Python ${settings.python} free-threaded · `, $('<strong>', { text: 'GIL off' }));
  return span.append(
    `Python ${settings.python} free-threaded, but `,
    $('<strong>', { text: 'GIL on again' }),
    `: ${settings.gil_enabled_by} turned it on at import`,
  );
}

// machine: /api/workers' {cores, spare}; busy: too few spare cores for parallel work to show.
export function showMachine(machine, busy) {
  if (!machine || machine.spare === null) return;
  const text = `${machine.cores} ${plural(machine.cores, 'core', 'cores')}, ${machine.spare.toFixed(1)} spare${busy ? ': too busy to show parallel work now' : ''}`;
  el.spare
    .prop('hidden', false)
    .attr({ 'data-state': busy ? 'busy' : 'ok', 'data-spare': machine.spare, title: 'Cores that other work on this machine leaves free, measured by the server about once a second' })
    .text(text);
}

// settings.token_refused: this browser holds a token of another (earlier) server; or the page
// was opened with one (/?token=…, sent back here as #token-refused).
export function showToken(settings) {
  const opened = window.location.hash === TOKEN_REFUSED;
  const problem = settings.teacher
    ? ''
    : opened
      ? 'That teacher’s address has a token this server does not know (it was restarted with a new one?): this is the students’ page. Use the address the server printed at its start (make address prints it again).'
      : settings.token_refused
        ? 'This browser holds the token of an earlier server (restarted since, with a new token): this is the students’ page. Open the teacher’s address the server printed at its start.'
        : '';
  if (settings.teacher && opened) window.history.replaceState(null, '', window.location.pathname);
  if (el.tokenProblem.text() !== problem) el.tokenProblem.prop('hidden', !problem).text(problem);
}

// log: /api/workers' {ok, problem}: the store that keeps the log and the other hosts' workers
// (a full disk, a shared Redis down), said in the top bar whichever card is in view.
export function showStore(log) {
  const problem = log && log.ok === false ? 'Requests are not being logged (details above the log)' : '';
  el.storeProblem.prop('hidden', !problem).attr('title', problem ? log.problem : null).text(problem);
}

export function showConnection(up, text) {
  el.connection.attr('data-state', up ? 'up' : 'down').text(text);
}

// A tab in the background polls less often (a classroom has many).
export function tabHidden() {
  return document.hidden;
}
