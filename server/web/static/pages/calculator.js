// The mortgage calculator: a purchase quoted across the products at live
// rates, the advisor's recommendations, and a chosen option's schedule.
// Every figure shown is the API's string as it arrived.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { scheduleChart } from "../charts.js";
import { PRODUCT_NAMES, US_STATES, dollars, field, h, percent, select } from "../dom.js";

const TERMS = { "15y_fixed": 180 };

export async function render(main) {
  const form = h(
    "form",
    { class: "calc", novalidate: true },
    field("Home price ($)", h("input", { name: "price", inputmode: "decimal", required: true, value: "450000" })),
    field("Down payment ($)", h("input", { name: "down_payment", inputmode: "decimal", required: true, value: "90000" })),
    field("Credit score", h("input", { name: "credit_score", inputmode: "numeric", "data-type": "int", required: true, value: "740" }), "300–850"),
    field("State", select({ name: "state" }, US_STATES.map((code) => [code, code]))),
    field("Annual income ($)", h("input", { name: "annual_income", inputmode: "decimal" }), "optional; checks what you qualify for"),
    field("Monthly debts ($)", h("input", { name: "monthly_debts", inputmode: "decimal" }), "car, student loans, cards"),
    h("button", { type: "submit" }, "Compare loans"),
  );
  form.elements.state.value = "CA";
  const results = h("section", { class: "results", "aria-live": "polite" });
  main.append(h("h1", {}, "Mortgage calculator"), form, results);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    const input = formData(form);
    form.querySelector("button").disabled = true;
    try {
      const quote = await api("POST", "/api/mortgage/calculate", input);
      results.replaceChildren(...renderQuote(quote, input));
      results.dataset.calculation = quote.id;
    } catch (error) {
      results.replaceChildren();
      showProblem(form, error);
    } finally {
      form.querySelector("button").disabled = false;
    }
  });
}

function renderQuote(quote, input) {
  const schedule = h("section", { class: "schedule" });
  const rows = quote.options.map((option) =>
    h(
      "tr",
      { "data-product": option.product, class: option.eligible ? "" : "ineligible" },
      h("th", { scope: "row" }, PRODUCT_NAMES[option.product] || option.product),
      h("td", { "data-field": "rate" }, percent(option.rate)),
      h("td", { "data-field": "apr" }, percent(option.apr)),
      h("td", { "data-field": "payment" }, dollars(option.payment)),
      h("td", { "data-field": "piti" }, dollars(option.piti)),
      h("td", { "data-field": "pmi_monthly" }, dollars(option.pmi_monthly)),
      h("td", { "data-field": "eligible" }, option.eligible ? "Yes" : h("span", {}, "No — ", option.reason || "")),
      h(
        "td",
        {},
        option.rate === null
          ? ""
          : h("button", { type: "button", class: "link", onclick: () => showSchedule(schedule, option, input) }, "Schedule"),
      ),
    ),
  );
  const table = h(
    "table",
    { class: "options" },
    h("caption", {}, `Rates as of ${new Date(quote.rates_as_of).toLocaleString()}`),
    h("thead", {}, h("tr", {}, ...["Loan", "Rate", "APR", "Payment", "PITI", "PMI", "Eligible", ""].map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, ...rows),
  );
  const advice = h(
    "ol",
    { class: "recommendations" },
    ...quote.recommendations.map((item) => h("li", { "data-kind": item.kind }, h("strong", {}, item.title), h("p", {}, item.detail))),
  );
  const about = new URLSearchParams({ calculation_id: quote.id, price: input.price, down_payment: input.down_payment, state: input.state });
  if (input.credit_score) about.set("credit_score", input.credit_score);
  const talk = h("p", {}, h("a", { class: "cta", href: `/talk-to-a-broker?${about}` }, "Talk to a broker about this"));
  return [h("div", { class: "table-wrap" }, table), talk, h("h2", {}, "Recommendations"), advice, schedule];
}

function loanAmount(option, input) {
  if (option.loan_amount) return option.loan_amount;
  const cents = (value) => BigInt(Math.round(Number(value) * 100));
  const total = cents(input.price) - cents(input.down_payment);
  return `${total / 100n}.${String(total % 100n).padStart(2, "0")}`;
}

async function showSchedule(target, option, input) {
  const request = { principal: loanAmount(option, input), annual_rate: option.rate, term_months: TERMS[option.product] || 360 };
  target.replaceChildren(h("p", {}, "Loading the schedule…"));
  try {
    const result = await api("POST", "/api/mortgage/amortization", request);
    const csv = h("button", { type: "button", onclick: () => downloadCsv(request, option.product) }, "Download CSV");
    target.replaceChildren(
      h("h2", {}, `${PRODUCT_NAMES[option.product]}: ${dollars(request.principal)} at ${percent(option.rate)}`),
      option.product === "5_6_arm" ? h("p", { class: "note" }, "At the starting rate; an ARM's rate can change after its fixed period.") : "",
      h("p", {}, `Payment ${dollars(result.payment)} · total interest ${dollars(result.total_interest)} · total paid ${dollars(result.total_paid)}`),
      scheduleChart(result.schedule),
      h("p", { class: "legend" }, h("span", { class: "balance" }, "Balance"), " ", h("span", { class: "interest" }, "Interest paid")),
      csv,
      h(
        "div",
        { class: "table-wrap tall" },
        h(
          "table",
          { class: "schedule-table" },
          h("thead", {}, h("tr", {}, ...["#", "Date", "Payment", "Principal", "Interest", "Balance"].map((title) => h("th", { scope: "col" }, title)))),
          h("tbody", {}, ...result.schedule.map((row) => h("tr", {}, h("td", {}, row.n), h("td", {}, row.date), h("td", {}, row.payment), h("td", {}, row.principal), h("td", {}, row.interest), h("td", {}, row.balance)))),
        ),
      ),
    );
  } catch (error) {
    target.replaceChildren(h("p", { class: "form-error", role: "alert" }, error.message));
  }
}

async function downloadCsv(request, product) {
  const text = await api("POST", "/api/mortgage/amortization", request, { accept: "text/csv" });
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = h("a", { href: url, download: `schedule-${product}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
