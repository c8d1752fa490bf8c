// Today's rates, updated live over /ws, each with a 30-day sparkline.

import { api } from "../api.js";
import { sparkline } from "../charts.js";
import { PRODUCT_NAMES, h, percent } from "../dom.js";
import { LiveChannels } from "../live.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Connection lost — reconnecting…",
};

export async function render(main) {
  const status = h("p", { class: "status", role: "status", "data-status": "connecting" }, STATUS_TEXT.connecting);
  const grid = h("div", { class: "rates", "aria-live": "polite" });
  main.append(h("h1", {}, "Today's mortgage rates"), status, grid);

  const cards = new Map();
  const cardFor = (product) => {
    if (!cards.has(product)) {
      const card = h(
        "article",
        { class: "rate", "data-product": product },
        h("h2", {}, PRODUCT_NAMES[product] || product),
        h("p", { class: "rate-value" }, h("span", { "data-field": "rate" }, "—")),
        h(
          "dl",
          {},
          h("dt", {}, "APR"),
          h("dd", { "data-field": "apr" }, "—"),
          h("dt", {}, "Points"),
          h("dd", { "data-field": "points" }, "—"),
        ),
        h("div", { class: "spark", "data-field": "history" }),
        h("p", { class: "as-of" }, h("span", { "data-field": "as_of" }), " · ", h("span", { "data-field": "source" })),
      );
      cards.set(product, card);
      grid.append(card);
      setTimeout(() => loadHistory(product, card)); // after the rates are on screen
    }
    return cards.get(product);
  };

  const show = (record, flash) => {
    const card = cardFor(record.product);
    const changed = card.querySelector('[data-field="rate"]').textContent !== percent(record.rate);
    card.querySelector('[data-field="rate"]').textContent = percent(record.rate);
    card.querySelector('[data-field="apr"]').textContent = percent(record.apr);
    card.querySelector('[data-field="points"]').textContent = record.points ?? "—";
    const asOf = card.querySelector('[data-field="as_of"]');
    asOf.textContent = `${record.as_of.slice(0, 10)} ${record.as_of.slice(11, 16)} UTC`;
    asOf.title = record.as_of;
    card.querySelector('[data-field="source"]').textContent = record.source;
    if (flash && changed) {
      card.classList.remove("flash");
      void card.offsetWidth; // restart the animation
      card.classList.add("flash");
    }
  };

  const first = await api("GET", "/api/rates");
  first.rates.forEach((record) => show(record, false));

  const live = new LiveChannels({
    onStatus: (state) => {
      status.dataset.status = state;
      status.textContent = STATUS_TEXT[state];
    },
  });
  live.subscribe("rates", (frame) => frame.data.rates.forEach((record) => show(record, frame.op === "update")));
  return () => live.close();
}

async function loadHistory(product, card) {
  const from = new Date(Date.now() - 30 * 86400e3).toISOString().slice(0, 10);
  try {
    const history = await api("GET", `/api/rates/history?product=${product}&from=${from}`);
    const values = history.observations.map((record) => Number(record.rate));
    card.querySelector('[data-field="history"]').replaceChildren(sparkline(values, { label: `${PRODUCT_NAMES[product]}: last 30 days` }));
  } catch {
    // the sparkline is a nicety; the live rate stands without it
  }
}
