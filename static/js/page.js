// View: the page around the cards. The top bar (the server's mode, the machine's spare cores,
// the connection pill) and whether anyone looks at this tab. Styles: css/page.css.

import { plural, shape } from './format.js';
import { byTestId } from './widgets.js';

const el = {
  banner: byTestId('mode-banner'),
  spare: byTestId('spare-cores'),
  connection: byTestId('connection'),
};

// hosts: how many hosts' workers the server lists (several behind nginx, with STORE=redis://...).
export function showMode(settings, hosts = 1) {
  const runtime = settings.runtime === 'litert' ? 'LiteRT' : settings.runtime;
  const onHosts = hosts > 1 ? `${hosts} hosts × ` : '';
  el.banner
    .empty()
    .append(
      $('<strong>', { text: onHosts + shape(settings.workers, settings.threads) }),
      ` · mode “${settings.mode}” · gunicorn ${settings.worker_class} workers · ${runtime}`,
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

export function showConnection(up, text) {
  el.connection.attr('data-state', up ? 'up' : 'down').text(text);
}

// A tab in the background polls less often (a classroom has many).
export function tabHidden() {
  return document.hidden;
}
