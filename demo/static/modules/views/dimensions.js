// #pose-dimensions: what each pose dimension tracks, as a table of correlations r coloured white at 0, red towards
// +1, blue towards -1 (numbers and colours: transform.dimensions).
import {escaped, signed} from "./text.js";

// {changes: the columns' names, dims: the rows' dimensions, r: (dims, changes), colours: (dims, changes, 3) RGB,
// labels: a label per dimension, or null}
export function poseDimensions({changes, dims, r, colours, labels}) {
  const head = changes.map((change) => `<th>${escaped(change)}</th>`).join("");
  const rows = dims.map((dim, row) => `<tr><th>dim ${dim}</th>`
    + r[row].map((value, column) => `<td style="background:rgb(${colours[row][column].join(",")})">`
      + `${signed(value)}</td>`).join("")
    + `<td class="tracks">${escaped(labels[row] ?? "")}</td></tr>`).join("");
  return `<table class="dims-table"><thead><tr><th></th>${head}<th>label</th></tr></thead><tbody>${rows}</tbody></table>`;
}
