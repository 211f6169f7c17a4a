// Wiring only: each view's controls to the flow that handles them, then the first poll.
//
// Views, the only modules that touch the DOM, each finding its own elements by data-testid:
//   page.js (top bar), name.js (the name on the class wall), canvas.js (draw card, and the photo sent), upload.js (its file inputs), answer.js,
//   correction.js (under the answer), workers.js (worker cards, burst),
//   lab-card.js, lab-workload.js, lab-compare.js, lab-workers.js, timeline.js, log.js; widgets.js
//   (shared pieces).
// Flows, which call the server and the views: predict.js, corrections.js, connection.js, poll.js, render.js,
//   bursts.js, lab.js, lab-burst.js, lab-scaling.js.
// Below both: state.js (all the page's state), api.js, photo.js (a picture scaled down to send),
//   burst.js, requests.js, colors.js, format.js, verdicts.js, worker-readings.js.

import * as answerCard from './answer.js';
import * as bursts from './bursts.js';
import * as pad from './canvas.js';
import * as correction from './correction.js';
import * as corrections from './corrections.js';
import * as labBurst from './lab-burst.js';
import * as labCompare from './lab-compare.js';
import * as labScaling from './lab-scaling.js';
import * as labWorkers from './lab-workers.js';
import * as labWorkload from './lab-workload.js';
import * as lab from './lab.js';
import * as log from './log.js';
import * as studentName from './name.js';
import * as poll from './poll.js';
import * as predict from './predict.js';
import { clearCompared, state } from './state.js';
import * as timeline from './timeline.js';
import * as upload from './upload.js';
import * as workersCard from './workers.js';

pad.bind({
  strokeStart: predict.drawingChanged,
  strokeEnd: () => predict.strokeEnded(pad.DEBOUNCE_MS, pad.PAUSE_MS),
  predict: predict.predictNow,
  undo: predict.undo,
  clear: predict.clear,
  dropFile: predict.predictFile,
});
upload.bind({ file: predict.predictFile });
studentName.bind();
correction.bind({ choose: corrections.choose });
workersCard.bind({ burst: bursts.sendDrawing });
labWorkload.bind({ fire: labBurst.fire, kindChanged: lab.showWarmUp });
labWorkers.bind({ scale: labScaling.scale });
timeline.bind({ chooseView: poll.chooseView, follow: bursts.follow, holdLastBurst: bursts.holdLastBurst });

answerCard.start();
timeline.start();
timeline.showView(state.view);
log.showView(state.view);
labCompare.bind({
  clear: () => {
    clearCompared();
    labCompare.show([]);
  },
});
labCompare.show([...state.lab.compared.values()]);
poll.pollWorkers();
