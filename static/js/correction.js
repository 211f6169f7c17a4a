// View: "Wrong? It is a 0 1 … 9" under the answer, when the server stores corrections, and
// what became of the one sent. Styles: css/answer.css.

import { byTestId } from './widgets.js';

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const el = {
  box: byTestId('correct-digit'),
  choices: byTestId('correct-digit').find('.correct-choices'),
  note: byTestId('correct-note'),
};

// choose(digit): the person clicked the digit the drawing really is.
export function bind({ choose }) {
  el.choices.empty();
  for (const digit of DIGITS) {
    el.choices.append(
      $('<button>', { type: 'button', text: digit, 'data-digit': digit, 'aria-pressed': 'false' }).on('click', () =>
        choose(digit),
      ),
    );
  }
}

export function offer() {
  el.box.attr('data-state', 'offered').prop('hidden', false);
  el.choices.find('button').prop('disabled', false).attr('aria-pressed', 'false');
  el.note.text('');
}

export function hide() {
  el.box.attr('data-state', 'hidden').prop('hidden', true);
  el.note.text('');
}

export function showSending(digit) {
  el.box.attr('data-state', 'sending');
  el.choices.find('button').prop('disabled', true);
  el.choices.find(`[data-digit=${digit}]`).attr('aria-pressed', 'true');
  el.note.text('Sending…');
}

export function showStored(digit) {
  el.box.attr({ 'data-state': 'stored', 'data-label': digit });
  el.note.text(`Thanks: stored as a ${digit}, for the next training.`);
}

export function showFailed(message) {
  el.box.attr('data-state', 'error');
  el.choices.find('button').prop('disabled', false).attr('aria-pressed', 'false');
  el.note.text(message);
}
