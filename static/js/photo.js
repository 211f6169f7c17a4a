// A picture file (a phone camera's photo, a chosen file, a dropped one) -> what is sent: turned
// upright (its EXIF orientation, which createImageBitmap applies) and at most MAX_SIDE px on its
// longer side, so a 12 Mpx camera JPEG of 3-5 MB goes as ~50-200 KB and the model's 28 × 28
// loses nothing. Also the upright picture, to show what was sent. No DOM here.

const MAX_SIDE = 1024;
// A picture this small (and no larger than MAX_SIDE) goes as it is: the server reads its EXIF too.
const AS_IS_BYTES = 1_000_000;
const JPEG_QUALITY = 0.9;

// -> {file (what to send), bitmap (upright, or null if the browser cannot read it: the server
// then says what is wrong with it), taken: {width, height, bytes}, sent: {width, height, bytes}}
export async function prepare(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return { file, bitmap: null, taken: { bytes: file.size }, sent: { bytes: file.size } };
  }
  const taken = { width: bitmap.width, height: bitmap.height, bytes: file.size };
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.size <= AS_IS_BYTES) return { file, bitmap, taken, sent: taken };
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  // A photo goes as JPEG; a PNG or WebP as PNG, which keeps its transparency (a drawn digit).
  const jpeg = file.type === 'image/jpeg' || !file.type.startsWith('image/');
  const blob = await canvas.convertToBlob(jpeg ? { type: 'image/jpeg', quality: JPEG_QUALITY } : { type: 'image/png' });
  const sent = new File([blob], jpeg ? 'photo.jpg' : 'picture.png', { type: blob.type });
  return { file: sent, bitmap, taken, sent: { width, height, bytes: blob.size } };
}
