// The drawing (or a picture file) -> its answer. Sent when the pen has lifted (and no stroke
// followed within the wait app.js gives), by the Predict button, or when a file is chosen; an answer to an older drawing, or older than
// the one shown, never replaces it. No DOM here.

import * as answerCard from './answer.js';
import * as api from './api.js';
import * as pad from './canvas.js';
import * as connection from './connection.js';
import * as corrections from './corrections.js';
import * as photo from './photo.js';
import { keepAnswer } from './render.js';
import { state } from './state.js';

// A stroke began: the drawing changed, and the previous stroke's send can wait.
export function drawingChanged() {
  state.drawingVersion += 1;
  clearTimeout(state.sendTimer);
  clearTimeout(state.finalTimer);
  corrections.forget();
}

// The pen lifted: send after waitMs (unless a stroke starts), and show the answer as
// provisional until the pen has rested pauseMs: another stroke may follow (the first stroke
// of a 4 reads as a 2).
export function strokeEnded(waitMs, pauseMs) {
  answerCard.showPending();
  clearTimeout(state.sendTimer);
  state.lastStrokeEnd = performance.now();
  state.sendTimer = setTimeout(() => sendDrawing(pauseMs), waitMs);
}

// The Predict button, undo, a reconnection: the answer is final at once.
export function predictNow() {
  sendDrawing(0);
}

function sendDrawing(pauseMs) {
  clearTimeout(state.sendTimer);
  if (pad.isDrawing()) return;
  if (pad.isEmpty()) {
    answerCard.showEmpty('Draw a digit first');
    return;
  }
  const image = pad.toDataURL();
  send(image, api.predict(image, state.clientId, state.name), pauseMs);
}

// A picture (chosen, taken with the camera, or dropped): it replaces the drawing, and the pad
// shows it as sent (upright, scaled down: photo.js).
export async function predictFile(file) {
  drawingChanged();
  pad.clear();
  const version = state.drawingVersion;
  answerCard.showPending();
  const picture = await photo.prepare(file);
  if (version !== state.drawingVersion) {
    picture.bitmap?.close(); // drawn on meanwhile: the drawing is what counts
    return;
  }
  pad.showPhoto(picture);
  send(picture.file, api.predictFile(picture.file, state.clientId, state.name), 0);
}

function send(image, request, pauseMs) {
  const version = state.drawingVersion;
  const seq = ++state.requestSeq;
  answerCard.showPending();
  request.then(
    (answer) => {
      keepAnswer(answer);
      if (!isNewest(version, seq)) return;
      state.answeredVersion = version;
      const rest = pauseMs - (performance.now() - state.lastStrokeEnd);
      answerCard.showAnswer(answer.body, answer.ms, rest > 0);
      corrections.answered(image, answer.body.request_id);
      if (rest > 0) {
        clearTimeout(state.finalTimer);
        state.finalTimer = setTimeout(() => {
          if (version === state.drawingVersion) answerCard.showFinal();
        }, rest);
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
