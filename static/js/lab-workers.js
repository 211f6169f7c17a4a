// View: the lab card's worker processes. Add a worker, remove one (the teacher's page only),
// and a note of what happened or why not. Styles: css/lab.css.

import { listOf, plural, shape } from './format.js';
import { byTestId, pidChip } from './widgets.js';

const el = {
  box: byTestId('lab-workers'),
  add: byTestId('add-worker'),
  remove: byTestId('remove-worker'),
  note: byTestId('lab-workers-note'),
  address: byTestId('teacher-address'),
  addressUrl: byTestId('teacher-address-url'),
};

// scale('add' | 'remove')
export function bind({ scale }) {
  el.add.on('click', () => scale('add'));
  el.remove.on('click', () => scale('remove'));
}

// settings: the server's; refusal: its word when it would not scale; busy: a change under way;
// perHost: the live worker processes of each host. The bounds hold per host (a click changes
// the pool of the host that takes it): a button is on while some host is within them.
export function show(settings, { refusal, busy, perHost }) {
  const canScale = settings.can_add_workers && !refusal;
  const [fewest, most] = settings.lab_workers;
  const counts = perHost.size ? [...perHost.values()] : [0];
  const allAtMost = counts.every((n) => n >= most);
  const allAtFewest = counts.every((n) => n <= fewest);
  el.box.attr({
    'data-scalable': String(canScale),
    'data-teacher': String(settings.teacher),
    'data-state': busy ? 'pending' : 'idle',
  });
  const address = settings.teacher_address || '';
  el.address.prop('hidden', !address);
  if (el.addressUrl.text() !== address) el.addressUrl.text(address);
  // The server's controls are the teacher's: shown only on the page opened with the token.
  el.add.prop({ hidden: !settings.teacher, disabled: !canScale || busy || allAtMost });
  el.remove.prop({ hidden: !settings.teacher, disabled: !canScale || busy || allAtFewest });
  if (!settings.teacher) {
    const why =
      'Adding and removing workers is the teacher’s: it works on the page opened with the address (and token) the server printed at start.';
    if (el.note.text() !== why) el.note.attr('data-state', 'teacher-only').text(why);
  } else if (!canScale) {
    const why = refusal || cannotScale(settings);
    if (el.note.text() !== why) el.note.attr('data-state', 'refused').text(why);
  } else if (!busy && [undefined, 'refused', 'teacher-only'].includes(el.note.attr('data-state'))) {
    el.note.removeAttr('data-state');
    const each = perHost.size > 1 ? ` on each host (the one that takes the click changes; ${perHost.size} hosts)` : '';
    el.note.text(`${fewest} to ${most} workers${each}. A new one gets a new PID, a card and a lane.`);
  }
}

function cannotScale(settings) {
  const modes = Object.keys(settings.presets).filter((mode) => settings.presets[mode].can_add_workers);
  return (
    `Workers can be added or removed in process modes only (MODE=${listOf(modes).join('')}): gunicorn's TTIN ` +
    `and TTOU add and remove processes, and this server runs ${shape(settings.workers, settings.threads)}.`
  );
}

export function showAsking(action) {
  showNote(`Asking the server for one worker ${action === 'add' ? 'more' : 'less'}…`);
}

// body: the server's answer to POST /api/lab/workers.
export function showSent(action, body) {
  showNote(
    `Sent ${action === 'add' ? 'TTIN' : 'TTOU'} to the gunicorn master (PID ${body.master_pid}${body.host ? ` on ${body.host}` : ''}): ${body.workers} → ${body.target} workers…`,
  );
}

// pid: the worker that joined, or null if it cannot be told; live: the live workers now.
export function showJoined(pid, live) {
  const count = `${live} ${plural(live, 'worker', 'workers')} now`;
  showNote(
    pid === null ? `${count}.` : ['PID ', pidChip(pid), ` joined: ${count}. Fire a burst and watch it take requests.`],
    'done',
  );
}

export function showLeft(pid, live) {
  const count = `${live} ${plural(live, 'worker', 'workers')} now`;
  showNote(pid === null ? `${count}.` : `PID ${pid} left (gunicorn stops its oldest worker): ${count}.`, 'done');
}

export function showNoChange(seconds, live) {
  showNote(`No change after ${seconds} s: ${live} ${plural(live, 'worker', 'workers')} live.`, 'error');
}

export function showFailure(message) {
  showNote(message, 'error');
}

function showNote(content, state = 'pending') {
  el.note
    .attr('data-state', state)
    .empty()
    .append(...[].concat(content));
}
