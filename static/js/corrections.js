// The answer on screen can be corrected: the person says which digit it really is, and the
// picture goes to the server with that label (only when the server stores corrections,
// CORRECTIONS=<folder>: its /api/workers settings say so). No DOM here.

import * as api from './api.js';
import * as correction from './correction.js';
import { state } from './state.js';

// An answer is on screen for this picture (a data URL or a File): offer to correct it.
export function answered(image, requestId) {
  state.answered = { image, requestId };
  if (state.settings && state.settings.corrections) correction.offer();
  else correction.hide();
}

export function forget() {
  state.answered = null;
  correction.hide();
}

export async function choose(digit) {
  const answered = state.answered;
  if (!answered) return;
  correction.showSending(digit);
  try {
    const image = typeof answered.image === 'string' ? answered.image : await dataUrlOf(answered.image);
    await api.correct(image, digit, answered.requestId);
    if (state.answered === answered) correction.showStored(digit);
  } catch (failure) {
    if (state.answered === answered) correction.showFailed(failure.message || String(failure));
  }
}

// An uploaded picture, redrawn at most MAX_SIDE px on its longer side: a phone photo of 2 MB
// would be over the server's body limit as base64, and the model needs 28 px of it.
const MAX_SIDE = 640;

async function dataUrlOf(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('The picture could not be read again to send it.');
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(
    Math.max(1, Math.round(bitmap.width * scale)),
    Math.max(1, Math.round(bitmap.height * scale)),
  );
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error('The picture could not be read again to send it.'));
    reader.readAsDataURL(blob);
  });
}
