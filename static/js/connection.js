// Whether the server is there: gone when a call finds nobody, back when a poll answers. No DOM
// here.

import * as answerCard from './answer.js';
import * as pad from './canvas.js';
import * as page from './page.js';
import { state } from './state.js';
import * as workersCard from './workers.js';

export function lost(failure) {
  if (state.online === false) return;
  state.online = false;
  page.showConnection(false, 'server unreachable');
  workersCard.showStale(true);
  answerCard.showError(failure.message);
  // Sent again when the server is back: a drawing it has not answered, never one it has.
  const unanswered = !pad.isEmpty() && state.answeredVersion !== state.drawingVersion;
  state.resendWhenBack = state.resendWhenBack || unanswered;
}

// Gives back true if the server had been gone (not at the first answer).
export function back() {
  if (state.online === true) return false;
  const wasDown = state.online === false;
  state.online = true;
  page.showConnection(true, 'connected');
  workersCard.showStale(false);
  return wasDown;
}
