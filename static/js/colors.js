// One colour per worker PID, the same everywhere on the page (chips, cards, lanes).
// The palette lives in page.css as --pid-0 … --pid-7; a PID gets the next free slot.

const PALETTE_SIZE = 8;
const slots = new Map();
const colours = new Map();

export function pidSlot(pid) {
  if (!slots.has(pid)) slots.set(pid, slots.size % PALETTE_SIZE);
  return slots.get(pid);
}

export function pidClass(pid) {
  return `pid-${pidSlot(pid)}`;
}

// For drawing on a canvas, where CSS classes do not reach.
export function pidColour(pid) {
  const slot = pidSlot(pid);
  if (!colours.has(slot)) {
    const style = getComputedStyle(document.documentElement);
    colours.set(slot, style.getPropertyValue(`--pid-${slot}`).trim() || '#555555');
  }
  return colours.get(slot);
}
