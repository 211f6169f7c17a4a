// What a lab burst showed, in the words of docs/teaching.md, from what was measured: the CPU
// over the wall time, how many requests were on the server at once, how many processes and
// threads ran them, the share of its time each python request's thread ran, and (tensorflow)
// the server's TensorFlow pools. A cause the measurement does not show is never stated. No DOM.

const PARALLEL_PERCENT = 110; // of one core: above this, parallel beyond any measuring noise
const ONE_CORE_PERCENT = 80; // below this, not even one core's worth
const NEEDED_FOR_TWO = 1.5; // spare cores below this: two processes cannot both run all the time (webapp/machine.py)

// machine: /api/workers' {cores, spare}: too few cores spare for two requests to run side by side.
export function tooBusy(machine) {
  return Boolean(machine) && machine.spare !== null && machine.cores >= 2 && machine.spare < NEEDED_FOR_TWO;
}

// kind: 'python' | 'io' | 'tensorflow'; summary: burst.js's; pools: {intra_op, inter_op} of the
// tensorflow answers (null otherwise); machine: /api/workers' at the end of the burst; gil:
// false on Python's free-threaded build with the GIL off (settings.gil).
export function labVerdict(kind, summary, pools = null, machine = null, gil = true) {
  const processes = summary.pids.length;
  if (summary.sent > 1 && summary.maxInFlight <= 1) {
    return 'the server ran one request at a time (at most 1 at once), so this burst cannot show whether they overlap.';
  }
  if (kind === 'io') {
    return `io work waits without using a CPU: ${summary.maxInFlight} requests overlapped, for little CPU.`;
  }
  if (summary.cpuPercent > PARALLEL_PERCENT) {
    if (kind === 'tensorflow' && processes === 1) {
      return 'more than one core busy at once in one process: the calls ran in parallel, outside the GIL (TensorFlow lets go of it while it computes; claim 3).';
    }
    if (kind === 'python' && processes === 1 && !gil) {
      return `more than one core busy at once in one process: without the GIL (free-threaded Python), ${summary.threads} threads ran Python side by side, where with it they take turns.`;
    }
    return 'more than one core busy at once: the requests ran in parallel.';
  }
  const ran = ranShareText(summary.medianRanShare);
  if (kind === 'python' && processes === 1 && summary.threads > 1 && !gil) {
    return `${cores(summary)} for ${summary.threads} threads of one process, though the GIL is off: no spare core let them run side by side${ran}.`;
  }
  if (kind === 'python' && processes === 1 && summary.threads > 1) {
    const shared = tooBusy(machine) ? ' Other work on the machine took part of that one core too.' : '';
    return `${cores(summary)} for ${summary.threads} threads of one process: they took turns at the GIL${ran} (claim 1).${shared}`;
  }
  if (kind === 'tensorflow' && processes === 1 && summary.threads > 1) {
    return `${cores(summary)} for ${summary.threads} threads of one process, yet not because of the GIL: TensorFlow lets go of it while it computes. ${poolsText(pools)} (claim 3)`;
  }
  if (processes > 1) {
    // Each process has a GIL of its own: a thread that ran less than its time waited for a core.
    const why = tooBusy(machine)
      ? ` This machine has ${machine.spare.toFixed(1)} of its ${machine.cores} cores spare now (other work holds the rest): parallel work cannot show on it until that work stops.`
      : '';
    return `${processes} processes had requests at once, yet used ${cores(summary)} in all${ran}: fewer cores were free for them than processes.${why}`;
  }
  return `${cores(summary)}: the requests did not run in parallel.`;
}

function cores(summary) {
  return summary.cpuPercent < ONE_CORE_PERCENT ? 'less than one core' : 'about one core';
}

function ranShareText(share) {
  if (share === null || share === undefined) return '';
  return ` (each request's thread ran ${Math.round(share * 100)} % of its time)`;
}

// What the server's TensorFlow pools let two calls of one process do (docs/teaching.md, claim 3).
function poolsText(pools) {
  if (!pools) return 'Its own thread pools and the free cores decide.';
  if (pools.inter_op === 1) {
    return 'With one inter-op thread (TF_INTER_OP=1), TensorFlow ran the calls one after the other; TF_INTER_OP=2 lets two run side by side.';
  }
  if (pools.inter_op === 0 && pools.intra_op === 0) {
    return 'With TensorFlow’s default pools one call can already use every core, so the calls had nothing to overlap with.';
  }
  return `Its pools (TF_INTRA_OP=${pools.intra_op}, TF_INTER_OP=${pools.inter_op}) and the free cores decide.`;
}
