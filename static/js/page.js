// View: the page around the cards. The top bar (the server's mode, the connection pill) and
// whether anyone looks at this tab. Styles: css/page.css.

import { shape } from './format.js';
import { byTestId } from './widgets.js';

const el = {
  banner: byTestId('mode-banner'),
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

export function showConnection(up, text) {
  el.connection.attr('data-state', up ? 'up' : 'down').text(text);
}

// A tab in the background polls less often (a classroom has many).
export function tabHidden() {
  return document.hidden;
}
