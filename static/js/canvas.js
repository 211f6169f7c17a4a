// View: the draw card. The pad takes pointer events (mouse, touch, pen) in and draws smooth
// round strokes; the canvas keeps a fixed internal size (what is sent) and is scaled by CSS
// (what is seen). Its buttons: predict, undo, clear. Styles: css/draw.css.

import { formatBytes } from './format.js';
import { byTestId } from './widgets.js';

const MIN_STEP = 1.5; // canvas px; closer points add nothing but noise

const el = {
  canvas: byTestId('canvas'),
  predict: byTestId('predict'),
  undo: byTestId('undo'),
  clear: byTestId('clear'),
  photo: byTestId('photo-sent'),
  photoCaption: byTestId('photo-sent-caption'),
};
const canvas = el.canvas[0];
// The pen, from the canvas' attributes (webapp/pen.json): about 1/14 of the side, an MNIST stroke.
const LINE_WIDTH = Number(canvas.dataset.penPx);
const INK = canvas.dataset.ink;
// After a stroke ends, wait this long for the next one before sending.
export const DEBOUNCE_MS = Number(canvas.dataset.debounceMs);
// An answer is provisional (greyed, "still drawing?") until the pen has rested this long: people
// lift the pen for 150-400 ms between the strokes of a 4 or a 7 with a bar.
export const PAUSE_MS = Number(canvas.dataset.pauseMs);
const ctx = canvas.getContext('2d');
const strokes = []; // the drawing: each stroke a list of [x, y] in canvas px
let current = null; // the stroke under the pen
let activePointer = null;
let handlers = null;

// strokeStart(), strokeEnd(): the pen went down, came up; predict(), undo(), clear(): buttons;
// dropFile(file): a picture dropped on the pad.
export function bind(given) {
  handlers = given;
  canvas.addEventListener('pointerdown', startStroke);
  canvas.addEventListener('pointermove', extendStroke);
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);
  // A finger on the canvas draws; it must never scroll or zoom the page.
  canvas.addEventListener('touchstart', (event) => event.preventDefault(), { passive: false });
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());
  el.predict.on('click', given.predict);
  el.undo.on('click', given.undo);
  el.clear.on('click', given.clear);
  bindDrop(el.canvas.parent(), given.dropFile);
}

function bindDrop($pad, dropFile) {
  $pad.on('dragenter dragover', (event) => {
    event.preventDefault();
    $pad.addClass('dropping');
  });
  $pad.on('dragleave drop', () => $pad.removeClass('dropping'));
  $pad.on('drop', (event) => {
    event.preventDefault();
    const files = event.originalEvent.dataTransfer?.files;
    if (files && files.length) dropFile(files[0]);
  });
}

export function isEmpty() {
  return strokes.length === 0;
}

export function isDrawing() {
  return current !== null;
}

export function toDataURL() {
  return canvas.toDataURL('image/png');
}

export function clear() {
  strokes.length = 0;
  redraw();
  hidePhoto();
}

// A picture sent instead of a drawing (photo.js's prepare()): shown upright on the pad, fitted,
// with its sizes, until the pen comes down or the pad is cleared.
export function showPhoto({ bitmap, taken, sent }) {
  if (!bitmap) return;
  const photo = el.photo[0];
  const pctx = photo.getContext('2d');
  const scale = Math.min(photo.width / bitmap.width, photo.height / bitmap.height);
  const width = bitmap.width * scale;
  const height = bitmap.height * scale;
  pctx.fillStyle = '#ffffff';
  pctx.fillRect(0, 0, photo.width, photo.height);
  pctx.drawImage(bitmap, (photo.width - width) / 2, (photo.height - height) / 2, width, height);
  bitmap.close();
  const scaled = sent.bytes !== taken.bytes ? ` (taken ${taken.width} × ${taken.height}, ${formatBytes(taken.bytes)})` : '';
  el.photo.prop('hidden', false);
  el.photoCaption.prop('hidden', false).text(`Sent ${sent.width} × ${sent.height}, ${formatBytes(sent.bytes)}${scaled}`);
}

function hidePhoto() {
  el.photo.prop('hidden', true);
  el.photoCaption.prop('hidden', true).text('');
}

export function undo() {
  if (current) return; // never pull the stroke from under the pen
  strokes.pop();
  redraw();
}

function toCanvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [
    ((event.clientX - rect.left) * canvas.width) / rect.width,
    ((event.clientY - rect.top) * canvas.height) / rect.height,
  ];
}

function startStroke(event) {
  if (activePointer !== null || (event.pointerType === 'mouse' && event.button !== 0)) return;
  event.preventDefault(); // no text selection, no compatibility mouse events
  activePointer = event.pointerId;
  canvas.setPointerCapture(event.pointerId);
  current = [toCanvasPoint(event)];
  strokes.push(current);
  hidePhoto();
  handlers.strokeStart();
  drawDot(ctx, current[0]);
}

function extendStroke(event) {
  if (event.pointerId !== activePointer) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length ? events : [event]) addPoint(toCanvasPoint(each));
}

function addPoint(point) {
  const last = current[current.length - 1];
  if (Math.hypot(point[0] - last[0], point[1] - last[1]) < MIN_STEP) return;
  current.push(point);
  drawSegment(ctx, current, current.length - 1);
}

function endStroke(event) {
  if (event.pointerId !== activePointer) return;
  if (event.type === 'pointerup') addPoint(toCanvasPoint(event));
  drawTail(ctx, current);
  activePointer = null;
  current = null;
  handlers.strokeEnd();
}

function redraw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const stroke of strokes) drawStroke(ctx, stroke);
}

function penStyle(ctx) {
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = LINE_WIDTH;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
}

function midpoint(a, b) {
  return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
}

function drawDot(ctx, point) {
  penStyle(ctx);
  ctx.beginPath();
  ctx.arc(point[0], point[1], LINE_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
}

// Quadratic curves through the midpoints of successive points: smooth, and each
// piece can be drawn as soon as its point arrives.
function drawSegment(ctx, points, i) {
  penStyle(ctx);
  ctx.beginPath();
  if (i === 1) {
    ctx.moveTo(points[0][0], points[0][1]);
  } else {
    const from = midpoint(points[i - 2], points[i - 1]);
    ctx.moveTo(from[0], from[1]);
  }
  const to = midpoint(points[i - 1], points[i]);
  ctx.quadraticCurveTo(points[i - 1][0], points[i - 1][1], to[0], to[1]);
  ctx.stroke();
}

function drawTail(ctx, points) {
  if (points.length < 2) return;
  const n = points.length - 1;
  const from = midpoint(points[n - 1], points[n]);
  penStyle(ctx);
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(points[n][0], points[n][1]);
  ctx.stroke();
}

function drawStroke(ctx, points) {
  drawDot(ctx, points[0]);
  for (let i = 1; i < points.length; i += 1) drawSegment(ctx, points, i);
  drawTail(ctx, points);
}
