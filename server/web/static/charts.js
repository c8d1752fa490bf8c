// SVG charts drawn from the API's numbers: a rate sparkline and a schedule's
// balance and cumulative interest.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function path(values, width, height, low, high, pad = 2) {
  const span = high - low || 1;
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  return values
    .map((value, i) => `${i ? "L" : "M"}${(pad + i * step).toFixed(1)},${(height - pad - ((value - low) / span) * (height - 2 * pad)).toFixed(1)}`)
    .join(" ");
}

export function sparkline(values, { width = 160, height = 40, label = "" } = {}) {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "sparkline" });
  const title = svg("title");
  title.textContent = label;
  chart.append(title);
  if (values.length > 1) {
    chart.append(svg("path", { d: path(values, width, height, Math.min(...values), Math.max(...values)), fill: "none" }));
  }
  return chart;
}

export function scheduleChart(rows, { width = 640, height = 240 } = {}) {
  const balances = rows.map((row) => Number(row.balance));
  let paid = 0;
  const interest = rows.map((row) => (paid += Number(row.interest)));
  const high = Math.max(balances[0] + Number(rows[0].principal), interest.at(-1));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "schedule-chart", "aria-label": "Balance and total interest paid over the loan" });
  chart.append(
    svg("path", { d: path(balances, width, height, 0, high, 8), class: "balance", fill: "none" }),
    svg("path", { d: path(interest, width, height, 0, high, 8), class: "interest", fill: "none" }),
  );
  return chart;
}
