// The drawing's burst (the workers card): the current drawing sent N times at once. Bursts,
// the drawing's and the lab's, are numbered together, and the timeline holds still on the one
// that just ended until a window is chosen. No DOM here.

import * as api from './api.js';
import { runBurst } from './burst.js';
import * as pad from './canvas.js';
import * as connection from './connection.js';
import { keepAnswer } from './render.js';
import { state } from './state.js';
import * as timeline from './timeline.js';
import * as workersCard from './workers.js';

export function nextBurst() {
  state.burstNo += 1;
  return state.burstNo;
}

export async function sendDrawing() {
  if (state.burstRunning) return;
  if (pad.isEmpty()) {
    workersCard.showBurstNote('Draw a digit first: a burst sends the current drawing.');
    return;
  }
  const n = workersCard.readBurstSize();
  const number = nextBurst();
  state.burstRunning = true;
  workersCard.setBurstRunning(true);
  workersCard.showBurstPending(number, n);
  timeline.bringIntoView();
  const image = pad.toDataURL();
  const summary = await runBurst(n, () => api.predict(image, state.clientId, state.name), (answer) => keepAnswer(answer, number));
  state.burstRunning = false;
  workersCard.setBurstRunning(false);
  workersCard.showBurstSummary(number, summary);
  if (summary.answered) holdOn(summary, `burst ${number}: ${n} requests`);
  if (summary.failure && summary.failure.kind === 'unavailable') connection.lost(summary.failure);
}

// -- the timeline: live, or still on the last burst -------------------------------------------

export function holdOn(summary, label) {
  state.lastBurst = { from: summary.from, to: summary.to, label };
  holdLastBurst();
  timeline.bringIntoView();
}

export function holdLastBurst() {
  if (!state.lastBurst) return;
  timeline.hold(state.lastBurst.from, state.lastBurst.to, state.lastBurst.label);
  timeline.showChoice('burst', true);
}

// Everyone's requests arrive live: a timeline still on this tab's last burst would not show
// them, so it follows live again, over the window it had.
export function followIfHeld() {
  if (timeline.heldStill()) follow(timeline.windowSeconds());
}

export function follow(seconds) {
  timeline.follow(seconds);
  timeline.showChoice(seconds, Boolean(state.lastBurst));
}
