// The drawing (or a picture file) -> its answer. Sent when the pen has lifted (and no stroke
// followed within the wait app.js gives), by the Predict button, or when a file is chosen; an answer to an older drawing, or older than
// the one shown, never replaces it. No DOM here.

import * as answerCard from './answer.js';
import * as api from './api.js';
import * as pad from './canvas.js';
import * as connection from './connection.js';
import * as corrections from './corrections.js';
import { keepAnswer } from './render.js';
import { state } from './state.js';

// A stroke began: the drawing changed, and the previous stroke's send can wait.
export function drawingChanged() {
  state.drawingVersion += 1;
  clearTimeout(state.sendTimer);
  corrections.forget();
}

export function strokeEnded(waitMs) {
  answerCard.showPending();
  clearTimeout(state.sendTimer);
  state.sendTimer = setTimeout(predictNow, waitMs);
}

export function predictNow() {
  clearTimeout(state.sendTimer);
  if (pad.isDrawing()) return;
  if (pad.isEmpty()) {
    answerCard.showEmpty('Draw a digit first');
    return;
  }
  const image = pad.toDataURL();
  send(image, api.predict(image, state.clientId));
}

// A picture (chosen, taken with the camera, or dropped): it replaces the drawing.
export function predictFile(file) {
  drawingChanged();
  pad.clear();
  send(file, api.predictFile(file, state.clientId));
}

function send(image, request) {
  const version = state.drawingVersion;
  const seq = ++state.requestSeq;
  answerCard.showPending();
  request.then(
    (answer) => {
      keepAnswer(answer);
      if (isNewest(version, seq)) {
        answerCard.showAnswer(answer.body, answer.ms);
        corrections.answered(image, answer.body.request_id);
      }
    },
    (failure) => {
      if (isNewest(version, seq)) failed(failure);
    },
  );
}

function isNewest(version, seq) {
  if (version !== state.drawingVersion || seq < state.shownSeq) return false;
  state.shownSeq = seq;
  return true;
}

function failed(failure) {
  if (failure.code === 'empty_drawing') {
    answerCard.showNothingToRead('Too little ink to read: draw a bigger digit');
    return;
  }
  answerCard.showError(failure.message);
  state.resendWhenBack = failure.kind !== 'refused';
  if (failure.kind === 'unavailable') connection.lost(failure);
}

export function clear() {
  drawingChanged();
  pad.clear();
  answerCard.showEmpty();
  state.resendWhenBack = false;
}

export function undo() {
  if (pad.isDrawing()) return;
  drawingChanged();
  pad.undo();
  if (pad.isEmpty()) answerCard.showEmpty();
  else predictNow();
}

// The server is back after it was gone: the drawing it did not answer is sent again.
export function serverBack() {
  if (state.resendWhenBack && !pad.isEmpty()) predictNow();
  else if (pad.isEmpty()) answerCard.showEmpty();
  state.resendWhenBack = false;
}
