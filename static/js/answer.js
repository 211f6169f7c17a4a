// View: the answer card. The digit and how sure (or "not sure", and why, in words), who
// answered, the ten probabilities, the 28 × 28 image the model saw, and what went wrong.
// Styles: css/answer.css.

import { formatMs, formatPercent } from './format.js';
import { byTestId, pidChip } from './widgets.js';

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const el = {
  prediction: byTestId('prediction'),
  digit: byTestId('answer-digit'),
  confidence: byTestId('confidence'),
  answeredBy: byTestId('answered-by'),
  message: byTestId('message'),
  announce: byTestId('announce'),
  probabilities: byTestId('probabilities'),
  modelInput: byTestId('model-input'),
  modelInputEmpty: byTestId('model-input-empty'),
  unsure: byTestId('unsure'),
};

export function start() {
  el.probabilities.empty();
  for (const digit of DIGITS) {
    el.probabilities.append(
      $('<li>', { class: 'probability', 'data-digit': digit }).append(
        $('<span>', { class: 'label', text: digit }),
        $('<span>', { class: 'track' }).append($('<span>', { class: 'bar' })),
        $('<span>', { class: 'value', text: '' }),
      ),
    );
  }
  showEmpty();
}

function setPrediction(state, digit = null) {
  el.prediction.attr('data-state', state);
  if (digit === null) el.prediction.removeAttr('data-digit');
  else el.prediction.attr('data-digit', digit);
}

export function showPending() {
  setPrediction('pending');
  el.prediction.removeAttr('data-final');
  el.message.text('');
}

let provisionalAnswer = null; // shown provisional, to show final once the pen has paused

// provisional: the pen may come down again; say so, and keep "not sure" until it is final.
export function showAnswer(result, roundTripMs, provisional = false) {
  setPrediction('done', result.digit);
  el.digit.text(result.digit);
  const serverMs = (result.timing.finished - result.timing.received) * 1000;
  el.answeredBy
    .empty()
    .append(
      'answered by ',
      pidChip(result.worker.pid),
      ` in ${formatMs(serverMs)} on the server, ${formatMs(roundTripMs)} round trip`,
    );
  el.message.text('');
  showProbabilities(result.probabilities, result.digit);
  el.modelInput.attr('src', result.model_input).prop('hidden', false);
  el.modelInputEmpty.prop('hidden', true);
  if (provisional) {
    provisionalAnswer = result;
    el.prediction.attr({ 'data-final': 'false', 'data-verdict': result.verdict || 'digit' });
    el.confidence.text(`${result.digit}? Still drawing…`);
    el.unsure.text('').prop('hidden', true);
  } else {
    showVerdict(result);
  }
}

// The pen has paused since the provisional answer: it is the answer.
export function showFinal() {
  if (provisionalAnswer && el.prediction.attr('data-state') === 'done') showVerdict(provisionalAnswer);
}

function showVerdict(result) {
  provisionalAnswer = null;
  const percent = Math.round(result.confidence * 100);
  const unsure = result.verdict === 'unsure';
  el.prediction.attr({ 'data-final': 'true', 'data-verdict': result.verdict || 'digit' });
  // "Not sure (7 or 1?)", "(7, 1 or 9?)": the likeliest digits the server names, best first.
  const names = (result.alternatives || [result.digit]).map(String);
  const likeliest = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
  el.confidence.text(unsure ? `Not sure (${likeliest}?)` : `${percent}% sure`);
  el.unsure.text(unsure ? `Not sure: ${result.reason}` : '').prop('hidden', !unsure);
  el.announce.text(
    unsure ? `Not sure. ${result.reason}` : `The model reads ${result.digit}, ${percent} percent sure.`,
  );
}

function showProbabilities(probabilities, best) {
  el.probabilities.children().each(function showOne(i) {
    const p = probabilities[i] || 0;
    const $row = $(this).toggleClass('best', i === best);
    $row.find('.bar').css('width', `${(p * 100).toFixed(1)}%`);
    $row.find('.value').text(formatPercent(p));
  });
}

function clearAnswer(text) {
  provisionalAnswer = null;
  el.prediction.removeAttr('data-verdict').removeAttr('data-final');
  el.unsure.text('').prop('hidden', true);
  el.digit.text('?');
  el.confidence.text(text);
  el.answeredBy.empty();
  el.probabilities.children().removeClass('best').find('.bar').css('width', '0%');
  el.probabilities.find('.value').text('');
  el.modelInput.prop('hidden', true).removeAttr('src');
  el.modelInputEmpty.prop('hidden', false);
}

export function showEmpty(text = 'Draw a digit') {
  setPrediction('empty');
  clearAnswer(text);
  el.message.text('');
}

// A calm note rather than an error: the server found no digit to read.
export function showNothingToRead(text) {
  setPrediction('empty');
  clearAnswer(text);
  el.message.text('');
  el.announce.text(text);
}

export function showError(message) {
  setPrediction('error');
  clearAnswer('No answer');
  el.digit.text('!');
  el.message.text(message);
}
