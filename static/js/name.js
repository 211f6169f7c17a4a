// View: the student's name on the class wall (GET /class), in the top bar. Kept on this device
// (localStorage) across reloads; until one is given, the wall shows this tab's short code, which
// the field shows as its placeholder. A name the server would refuse is never sent.

import { shortCode } from './format.js';
import { state } from './state.js';
import { byTestId } from './widgets.js';

const KEY = 'mnist-lab-name';
// The server's rule (NAME_PATTERN in webapp/schemas.py), checked as one types; it checks it again.
const NAME = /^[\p{L}\p{N}][\p{L}\p{N}_ .'-]{0,23}$/u;
const RULE = 'Letters, digits, spaces and . \' - _ only, 24 at most, starting with a letter or digit.';

const el = {
  input: byTestId('student-name'),
  problem: byTestId('name-problem'),
};

export function bind() {
  const code = shortCode(state.clientId);
  el.input.attr({ placeholder: `Name (${code})`, title: 'Shown beside your drawings on the class wall' });
  el.input.val(stored());
  taken();
  el.input.on('input change', taken);
}

function taken() {
  const value = String(el.input.val()).normalize('NFC').trim();
  const ok = value === '' || NAME.test(value);
  state.name = ok && value ? value : null;
  el.input.attr('aria-invalid', String(!ok));
  el.problem.prop('hidden', ok).text(ok ? '' : RULE);
  if (ok) remember(value);
}

function stored() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    return ''; // storage blocked: the name lasts as long as the page
  }
}

function remember(value) {
  try {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  } catch {
    // as above
  }
}
