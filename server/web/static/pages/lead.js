// "Talk to a broker": the borrower's request, sent with the consent text
// exactly as shown beside its checkbox, then a confirmation.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { US_STATES, field, h, select } from "../dom.js";

// Changing the wording means a new version: each lead stores both.
export const CONSENT_VERSION = "2026-12";
export const CONSENT_TEXT =
  "I agree that a licensed loan officer from Rateline's broker network may call, text and email me " +
  "about my mortgage at the phone number and email address above, including by automated means. " +
  "Consent is not a condition of any purchase, and I can opt out at any time with the link in any email.";

const TIMELINES = [
  ["now", "Now"],
  ["3_months", "Within 3 months"],
  ["6_months", "Within 6 months"],
  ["later", "Later"],
];

export async function render(main, params) {
  const calculation = params.get("calculation_id");
  const agreed = h("input", { type: "checkbox", id: "consent-agreed", "data-pointer": "/consent/agreed" });
  const consent = h(
    "div",
    { class: "field consent" },
    h("div", { class: "check" }, agreed, h("label", { for: agreed.id, id: "consent-text" }, CONSENT_TEXT)),
    h("small", {}, `Consent version ${CONSENT_VERSION}`),
  );
  const downPayment = field("Down payment ($)", h("input", { name: "down_payment", inputmode: "decimal" }));
  const loanBalance = field("Loan balance ($)", h("input", { name: "loan_balance", inputmode: "decimal" }), "what you owe today");
  const purpose = select({ name: "purpose" }, [["purchase", "Buy a home"], ["refinance", "Refinance"]]);
  const form = h(
    "form",
    { class: "lead", novalidate: true },
    field("Full name", h("input", { name: "name", autocomplete: "name", required: true })),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field("Phone", h("input", { name: "phone", type: "tel", autocomplete: "tel", required: true }), "a US number, or +country code"),
    field("State", select({ name: "state" }, US_STATES.map((code) => [code, code])), "where the home is"),
    field("I want to", purpose),
    field("Home price ($)", h("input", { name: "price", inputmode: "decimal", required: true }), "or its value, to refinance"),
    downPayment,
    loanBalance,
    field("Credit score", h("input", { name: "credit_score", inputmode: "numeric", "data-type": "int" }), "optional, 300–850"),
    field("When", select({ name: "timeline" }, TIMELINES)),
    field("Message", h("textarea", { name: "message", rows: 3, maxlength: 2000 }), "optional: when to call, questions"),
    consent,
    h("button", { type: "submit" }, "Send to a broker"),
  );
  const showPurpose = () => {
    const refinance = purpose.value === "refinance";
    for (const [box, hidden] of [[downPayment, refinance], [loanBalance, !refinance]]) {
      box.hidden = hidden;
      box.querySelector("input").disabled = hidden;
    }
  };
  purpose.addEventListener("change", showPurpose);
  for (const name of ["price", "down_payment", "credit_score"]) {
    if (params.get(name)) form.elements[name].value = params.get(name);
  }
  form.elements.state.value = US_STATES.includes(params.get("state")) ? params.get("state") : "CA";
  showPurpose();

  main.append(
    h("h1", {}, "Talk to a broker"),
    h("p", {}, "A licensed loan officer in your state answers, usually within the hour. Your phone and email go only to the broker who takes your request."),
    calculation ? h("p", { class: "note" }, "We will send the broker the calculation you just made.") : "",
    form,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    const body = {
      ...formData(form),
      consent: { agreed: agreed.checked, text: CONSENT_TEXT, version: CONSENT_VERSION },
      source: calculation ? "calculator" : "web",
    };
    if (calculation) body.calculation_id = calculation;
    const utm = Object.fromEntries([...params].filter(([key]) => key.startsWith("utm_")).map(([key, value]) => [key.slice(4), value]));
    if (Object.keys(utm).length) body.utm = utm;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    let receipt;
    try {
      receipt = await api("POST", "/api/leads", body);
    } catch (error) {
      showProblem(form, error);
      return;
    } finally {
      button.disabled = false;
    }
    main.replaceChildren(
      h(
        "section",
        { class: "confirmation", "data-lead": receipt.id },
        h("h1", {}, "Thank you — a broker will be in touch"),
        h("p", { role: "status" }, `We sent your request to a licensed loan officer in ${body.state}. They will call or email you at ${body.phone} or ${body.email}; we also emailed you a confirmation.`),
        h("p", {}, "Changed your mind? Every email from us has a link to stop all contact."),
        h("p", {}, h("a", { href: "/" }, "Back to today's rates")),
      ),
    );
    main.focus();
  });
}
