// The lab card follows the server, at each /api/workers: hidden when the server runs without
// the lab, else its mode and what to try next, the longest workload it takes, and how far
// TensorFlow has been loaded. The card's parts: lab-burst.js (the workload) and lab-scaling.js
// (adding and removing workers). No DOM here.

import * as card from './lab-card.js';
import * as workload from './lab-workload.js';
import { livePids, state } from './state.js';

// previous: the settings of the poll before (null at the first).
export function showServer(previous) {
  const settings = state.settings;
  // Restarted in another shape: what the server refused before may work now.
  if (previous && (previous.mode !== settings.mode || previous.threads !== settings.threads)) state.lab.refusal = null;
  if (!settings.lab) {
    showOff();
    return;
  }
  state.lab.off = false;
  card.showOn(settings.teacher);
  card.showMode(settings, livePids().length);
  workload.setMaxMs(settings.lab_max_ms);
  showWarmUp();
}

// LAB=0, or a lab call answered lab_off.
export function showOff() {
  state.lab.off = true;
  card.showOff();
}

export function showWarmUp() {
  const live = livePids();
  workload.showWarmUp(
    live.length,
    live.filter((pid) => state.lab.tensorflowPids.has(pid)).length,
    live.filter((pid) => state.lab.tensorflowLoading.has(pid) && !state.lab.tensorflowPids.has(pid)).length,
  );
}
