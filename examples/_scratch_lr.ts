import { readPoints } from '../bench/baselines/logistic-regression.js';
const { count: n, dims, labels, features: x } = readPoints('data/points-count1000000-dims10-seed42.txt');
const w = new Float64Array(dims).fill(0.1);
const g = new Float64Array(dims);
function iter() {
  g.fill(0);
  for (let i = 0, row = 0; i < n; i++, row += dims) {
    const y = labels[i]!;
    let dot = 0;
    for (let j = 0; j < dims; j++) dot += w[j]! * x[row + j]!;
    const scale = (1 / (1 + Math.exp(-y * dot)) - 1) * y;
    for (let j = 0; j < dims; j++) g[j]! += scale * x[row + j]!;
  }
}
function iterNoExp() {
  g.fill(0);
  for (let i = 0, row = 0; i < n; i++, row += dims) {
    const y = labels[i]!;
    let dot = 0;
    for (let j = 0; j < dims; j++) dot += w[j]! * x[row + j]!;
    const scale = dot*y;
    for (let j = 0; j < dims; j++) g[j]! += scale * x[row + j]!;
  }
}
for (let k = 0; k < 5; k++) { let t = performance.now(); iter(); const a = performance.now() - t; t = performance.now(); iterNoExp(); console.log(a, performance.now() - t); }
