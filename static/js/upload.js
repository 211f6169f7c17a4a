// View: the upload controls of the draw card: a file picker and, on a phone, the camera.
// (A picture dropped on the pad comes through canvas.js.) Styles: css/draw.css.

import { byTestId } from './widgets.js';

const el = {
  inputs: byTestId('upload').add(byTestId('upload-camera')),
};

// file(file): a picture was chosen or taken.
export function bind({ file }) {
  el.inputs.on('change', function chosen() {
    const picked = this.files && this.files[0];
    if (picked) file(picked);
    this.value = ''; // the same file chosen again is sent again
  });
}
