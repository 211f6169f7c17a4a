// One colour per worker PID, the same everywhere on the page (chips, cards, lanes): a PID gets
// the next free slot of the palette, --pid-0 … --pid-7 in css/page.css. No DOM here: views
// colour with pidClass (css/widgets.css), the timeline reads the slot's colour from the CSS.

const PALETTE_SIZE = 8;
const slots = new Map();

export function pidSlot(pid) {
  if (!slots.has(pid)) slots.set(pid, slots.size % PALETTE_SIZE);
  return slots.get(pid);
}

export function pidClass(pid) {
  return `pid-${pidSlot(pid)}`;
}
