// The original face recognition network (@vladmandic/face-api 1.7.15, TensorFlow.js 4.22,
// pure CPU backend) on binary PPM (P6) faces: one JSON line per image with its 128-d
// descriptor, as `ferlab describe` prints them. Run by bench/face-descriptors.sh:
//   node bench/face_descriptors.mjs MODEL_DIR face1.ppm face2.ppm ...
// (MODEL_DIR holds face_recognition_model-weights_manifest.json and its .bin shard;
// NODE_PATH must reach a folder where face-api, tfjs and tfjs-backend-wasm are installed.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

// A binary PPM: "P6", width, height, maxval (255), one whitespace byte, RGB bytes.
function readPpm(path) {
  const bytes = readFileSync(path);
  const fields = [];
  let at = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[at]))) at += 1;
    if (bytes[at] === 0x23) { // a comment runs to the end of its line
      while (bytes[at] !== 0x0a) at += 1;
      continue;
    }
    let start = at;
    while (!/\s/.test(String.fromCharCode(bytes[at]))) at += 1;
    fields.push(bytes.subarray(start, at).toString('ascii'));
  }
  at += 1;
  const [magic, w, h, max] = [fields[0], Number(fields[1]), Number(fields[2]), Number(fields[3])];
  if (magic !== 'P6' || max !== 255) throw new Error(`${path}: not an 8-bit binary PPM`);
  const rgb = bytes.subarray(at, at + w * h * 3);
  if (rgb.length !== w * h * 3) throw new Error(`${path}: ${rgb.length} of ${w * h * 3} pixel bytes`);
  return { w, h, rgb };
}

const [modelDir, ...images] = process.argv.slice(2);
if (!modelDir || images.length === 0) {
  console.error('usage: node face_descriptors.mjs MODEL_DIR IMAGE.ppm...');
  process.exit(2);
}
await faceapi.tf.setBackend('cpu');
await faceapi.tf.ready();
await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
for (const file of images) {
  const { w, h, rgb } = readPpm(file);
  const input = faceapi.tf.tensor4d(Float32Array.from(rgb), [1, h, w, 3]);
  const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input);
  input.dispose();
  console.log(JSON.stringify({ file, descriptor: Array.from(d) }));
}
