// One colour per worker PID, the same everywhere on the page (chips, cards, lanes): a PID gets
// the lowest slot of the palette no live worker holds, --pid-0 … --pid-11 in css/page.css (12:
// `make cluster`'s 3 hosts × 4 workers). A worker that is gone frees its slot (keepColours), so
// live workers never share a colour while there are no more of them than colours. No DOM here:
// views colour with pidClass (css/widgets.css), the timeline reads the slot's colour from the CSS.

const PALETTE_SIZE = 12;
const slots = new Map(); // pid -> slot

export function pidSlot(pid) {
  if (!slots.has(pid)) {
    const used = new Set(slots.values());
    let slot = 0;
    while (used.has(slot)) slot += 1;
    slots.set(pid, slot < PALETTE_SIZE ? slot : slots.size % PALETTE_SIZE);
  }
  return slots.get(pid);
}

export function pidClass(pid) {
  return `pid-${pidSlot(pid)}`;
}

// The live workers' PIDs (an iterable): every other PID's slot is free again.
export function keepColours(livePids) {
  const live = new Set(livePids);
  for (const pid of [...slots.keys()]) {
    if (!live.has(pid)) slots.delete(pid);
  }
}
