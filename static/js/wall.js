// View: the class wall on GET /class, for a projector. The class's recent drawings, newest first:
// each the 28 × 28 the model saw, its answer, and whose it is (the name the student gave on their
// phone, else their tab's short code), framed in the student's colour on the timeline. A student's
// requests one after another are one card when they are within MERGE_S of each other (the pen
// lifted between two strokes, a burst: "×16") or the same drawing (sent again after a timeout,
// Predict pressed twice). Built from attributes and text only, never HTML. Styles: css/wall.css.

import { shortCode } from './format.js';
import { clientColour } from './timeline.js';
import { byTestId } from './widgets.js';

const MAX_CARDS = 60;
const MERGE_S = 3;
// What the server logs for a drawing (webapp/api.py png_data_url): anything else is not shown.
const DRAWING = /^data:image\/png;base64,[A-Za-z0-9+/]+={0,2}$/;

const el = {
  grid: byTestId('class-wall'),
  count: byTestId('class-wall-count'),
  empty: byTestId('class-wall-empty'),
};
const cards = new Map(); // a card's key (its oldest request id) -> its <li>, kept while shown

// rows: every client's answered requests, newest first (requests.js visible('everyone')).
export function show(rows) {
  const drawings = groups(rows.filter((row) => !row.kind && typeof row.drawing === 'string' && DRAWING.test(row.drawing)));
  const shown = drawings.slice(0, MAX_CARDS);
  const keep = new Set(shown.map((group) => group.key));
  for (const [key, $card] of cards) {
    if (!keep.has(key)) {
      $card.remove();
      cards.delete(key);
    }
  }
  el.grid.append(shown.map(card)); // appending a shown card moves it: its picture is not decoded again
  const students = new Set(shown.map((group) => group.rows[0].client_id || group.rows[0].route)).size;
  el.count.text(shown.length ? `${shown.length} newest, from ${students} ${students === 1 ? 'student' : 'students'}` : '');
  el.empty.prop('hidden', shown.length > 0);
}

// Rows (newest first) -> cards' groups, newest first: a client's rows each within MERGE_S of the next.
function groups(rows) {
  const open = new Map(); // client -> its group still open to older rows
  const all = [];
  for (const row of rows) {
    const client = row.client_id || `route:${row.route || ''}`;
    const group = open.get(client);
    if (group && (group.oldest - row.received <= MERGE_S || group.rows.at(-1).drawing === row.drawing)) {
      group.rows.push(row);
      group.oldest = row.received;
      group.key = row.request_id;
    } else {
      const started = { key: row.request_id, rows: [row], oldest: row.received };
      open.set(client, started);
      all.push(started);
    }
  }
  return all;
}

function card(group) {
  const newest = group.rows[0];
  let $card = cards.get(group.key);
  if (!$card) {
    $card = $('<li>', { class: 'wall-card', 'data-testid': 'class-drawing' }).append(
      $('<img>', { class: 'wall-drawing' }),
      $('<p>', { class: 'wall-answer' }).append($('<span>', { class: 'wall-digit' }), $('<span>', { class: 'wall-times' })),
      $('<p>', { class: 'wall-name' }),
    );
    cards.set(group.key, $card);
  }
  const who = whose(group.rows);
  const digit = newest.digit ?? '?';
  $card.attr({
    'data-request-id': newest.request_id,
    'data-client-id': newest.client_id || '',
    'data-digit': digit,
    'data-requests': group.rows.length,
    'data-name': who,
    title: `${who}: ${digit}`,
  });
  $card.css('--student', clientColour(newest.client_id));
  const $img = $card.find('.wall-drawing');
  if ($img.attr('src') !== newest.drawing) $img.attr({ src: newest.drawing, alt: `${who}'s drawing, read as ${digit}` });
  $card.find('.wall-digit').text(digit);
  $card.find('.wall-times').text(group.rows.length > 1 ? `×${group.rows.length}` : '');
  $card.find('.wall-name').text(who);
  return $card;
}

// The name a student gave (the newest that has one), else their tab's short code.
function whose(rows) {
  const named = rows.find((row) => row.name);
  if (named) return named.name;
  if (rows[0].client_id) return shortCode(rows[0].client_id);
  return rows[0].route === '/inference' ? 'curl' : 'no name';
}
