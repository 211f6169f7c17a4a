// View: the lab card itself, hidden unless the server runs the lab; the server's mode, what a
// python burst should look like in it, and the command to restart it in another mode to
// compare. Every mode's preset and the mode to compare with are the server's
// (settings.presets, settings.contrast). Styles: css/lab.css.

import { listOf, shape } from './format.js';
import { byTestId } from './widgets.js';

const el = {
  panel: byTestId('lab-panel'),
  mode: byTestId('lab-mode'),
  expect: byTestId('lab-expect'),
  restart: byTestId('lab-restart'),
  presets: byTestId('lab-presets'),
  priority: byTestId('lab-priority'),
};

// Whose lab work comes first (webapp/lab_api/limits.py): the teacher's, always.
const PRIORITY = {
  teacher: 'Your lab work comes first: while your burst runs, students’ lab work waits, so yours gets every worker.',
  student: 'The teacher’s lab work comes first: while the teacher’s burst runs, yours waits, then goes on by itself.',
};

// teacher: whether this page holds the teacher's token.
export function showOn(teacher) {
  el.panel.attr('data-state', 'on').prop('hidden', false);
  const whose = teacher ? 'teacher' : 'student';
  if (el.priority.attr('data-whose') !== whose) el.priority.attr('data-whose', whose).text(PRIORITY[whose]);
}

export function showOff() {
  el.panel.attr('data-state', 'off').prop('hidden', true);
  el.mode.removeAttr('data-shown').text('The lab is off on this server (LAB=0). Start it with LAB=1 to use it.');
}

// Rewritten only when it changes: a text being read or selected stays put.
// live: the worker processes running now.
export function showMode(settings, live) {
  const key = `${settings.mode}|${settings.workers}|${settings.threads}`;
  if (el.mode.attr('data-shown') !== `${key}|${live}`) {
    el.mode
      .attr({ 'data-mode': settings.mode, 'data-shown': `${key}|${live}` })
      .empty()
      .append(
        'This server runs ',
        $('<strong>', { text: `MODE=${settings.mode}` }),
        `: ${shape(settings.workers, settings.threads)} (${runCommand(settings, settings.mode, settings.workers, settings.threads)})`,
        // Workers added or removed in the lab, or one being replaced: not what was configured.
        live && live !== settings.workers ? `; ${live} live now` : '',
      );
  }
  if (el.expect.attr('data-shown') !== key) {
    el.expect.attr('data-shown', key);
    showAdvice(settings);
  }
}

function showAdvice(settings) {
  const other = settings.contrast;
  el.expect.text(whatToSee(settings));
  el.restart.text(runCommand(settings, other)).attr('data-mode', other);
  const others = Object.keys(settings.presets).filter((mode) => mode !== settings.mode && mode !== other);
  el.presets
    .empty()
    .append(
      'Or ',
      ...listOf(others.map((mode) => [$('<code>', { text: `MODE=${mode}` }), ` (${presetShape(settings, mode)})`])),
      '. ',
      $('<code>', { text: 'WORKERS=…' }),
      ' and ',
      $('<code>', { text: 'THREADS=…' }),
      ' override a preset, e.g. ',
      $('<code>', { text: 'MODE=processes WORKERS=2 make run' }),
      '.',
    );
}

function presetShape(settings, mode) {
  const preset = settings.presets[mode];
  return shape(preset.workers, preset.threads);
}

// The command that starts a server in `mode`: its preset, with the overrides that make
// `workers` and `threads` (when given) if they differ from it.
function runCommand(settings, mode, workers = null, threads = null) {
  const preset = settings.presets[mode] || { workers, threads };
  const parts = [`MODE=${mode}`];
  if (workers !== null && workers !== preset.workers) parts.push(`WORKERS=${workers}`);
  if (threads !== null && threads !== preset.threads) parts.push(`THREADS=${threads}`);
  return `${parts.join(' ')} make run`;
}

// What a python burst should look like on this server.
function whatToSee(settings) {
  const { workers, threads } = settings;
  let text;
  if (settings.worker_class === 'gevent') {
    const greenlets = (settings.presets[settings.mode] || {}).greenlets || 'many';
    text =
      `${workers === 1 ? 'One process' : `${workers} processes`}, one thread, ${greenlets} greenlets (gevent): waiting overlaps, ` +
      'computing waits. io work overlaps on the one lane (its bars stack); python and tensorflow work holds the ' +
      'only thread, so each runs after the one before, about 100 % CPU at most.';
  } else if (workers === 1 && threads === 1) {
    text = 'One process, one thread: each request waits for the one before; nothing overlaps.';
  } else if (threads === 1) {
    text = `Each request gets a process of its own: python work overlaps across the PIDs, over 100 % CPU (one core per process at most, and no more than the machine has).`;
  } else if (workers === 1) {
    text = `One process, ${threads} threads sharing one GIL: python work stretches and interleaves on the thread lanes, CPU about 100 % at most. io work still overlaps.`;
  } else {
    text = `${workers} processes of ${threads} threads: python work runs ${workers} at a time, one per process; inside a process the threads take turns.`;
  }
  if (settings.batches) text += ' (Batching shares model calls between predictions; lab work is not batched.)';
  return text;
}
