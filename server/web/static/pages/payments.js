// Plans and paying for one. The card is collected by Stripe.js (loaded on
// this page only): it confirms a SetupIntent with the card, which makes the
// PaymentMethod /api/payments/create charges; a card that asks for
// authentication is confirmed by Stripe.js too, then Rateline checks the
// payment with Stripe and shows the subscription.

import { api, ApiError, clearProblem, showProblem } from "../api.js";
import { show } from "../app.js";
import { h } from "../dom.js";
import { currentUser } from "../session.js";

const INTERVALS = { month: " a month", year: " a year" };

export async function render(main) {
  const user = await currentUser({ refresh: true });
  if (!user) {
    show("/login");
    return;
  }
  main.append(h("h1", {}, "Plans"));
  let config, plans, subscription;
  try {
    [config, plans, subscription] = await Promise.all([
      api("GET", "/api/payments/config"),
      api("GET", "/api/payments/plans"),
      api("GET", "/api/payments/subscription"),
    ]);
  } catch (error) {
    main.append(h("p", { class: "form-error", role: "alert" }, error.message));
    return;
  }
  const status = h("section", { class: "subscription", "aria-live": "polite" });
  showSubscription(status, subscription, plans);

  const choices = h(
    "fieldset",
    { class: "field", id: "plan-choice", "data-pointer": "/plan" },
    h("legend", {}, "Plan"),
    ...plans.map((plan) =>
      h("label", { class: "choice" }, h("input", { type: "radio", name: "plan", value: plan.code }), ` ${plan.name}: $${plan.amount}${INTERVALS[plan.interval] || ""}`),
    ),
  );
  const card = h("div", { class: "card-element", id: "card", role: "group", "aria-labelledby": "card-label" });
  const pay = h("button", { type: "submit", disabled: true }, "Pay");
  const form = h(
    "form",
    { class: "pay", novalidate: true },
    choices,
    h("div", { class: "field", id: "card-field", "data-pointer": "/payment_method" }, h("span", { id: "card-label" }, "Card"), card),
    pay,
  );
  main.append(status, h("h2", {}, "Choose a plan"), form);

  let stripe, cardElement;
  try {
    await loadScript(config.stripe_js_url);
    stripe = window.Stripe(config.publishable_key);
    cardElement = stripe.elements().create("card");
    cardElement.mount(card);
    pay.disabled = false;
  } catch (error) {
    showProblem(form, error);
    return;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    const plan = form.querySelector("input[name=plan]:checked")?.value;
    if (!plan) {
      showProblem(form, fieldProblem("/plan", "Choose a plan."));
      return;
    }
    pay.disabled = true;
    pay.textContent = "Paying…";
    try {
      const result = await payFor(stripe, cardElement, plan);
      showSubscription(status, result.subscription || (await api("GET", "/api/payments/subscription")), plans, result.payment);
    } catch (error) {
      showProblem(form, error);
    } finally {
      pay.disabled = false;
      pay.textContent = "Pay";
    }
  });
}

async function payFor(stripe, card, plan) {
  const setup = await api("POST", "/api/payments/card-setup");
  const saved = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card } });
  if (saved.error) throw fieldProblem("/payment_method", saved.error.message);
  const paymentMethod = saved.setupIntent.payment_method;
  const created = await charging(api("POST", "/api/payments/create", { plan, payment_method: paymentMethod }));
  const confirm = () => charging(api("POST", "/api/payments/confirm", { payment_id: created.payment_id }));
  let result = await confirm();
  if (result.payment.status === "pending" || result.payment.status === "requires_action") {
    const paid = await stripe.confirmCardPayment(created.client_secret, { payment_method: paymentMethod });
    if (paid.error) throw fieldProblem("/payment_method", paid.error.message);
    result = await confirm();
  }
  if (result.payment.status === "failed") throw fieldProblem("/payment_method", result.payment.failure_reason || "The payment failed.");
  return result;
}

function showSubscription(section, subscription, plans, payment) {
  const name = (code) => plans.find((p) => p.code === code)?.name || code;
  const lines = [];
  if (payment) {
    lines.push(
      h(
        "p",
        { class: "payment", "data-status": payment.status },
        `Payment ${payment.status}: $${payment.amount}`,
        payment.receipt_number ? ` (receipt ${payment.receipt_number}, emailed to you)` : "",
      ),
    );
  }
  if (subscription) {
    const until = subscription.current_period_end ? new Date(subscription.current_period_end).toLocaleDateString() : null;
    const renewal = subscription.cancel_at_period_end ? `ends on ${until}` : until ? `renews on ${until}` : "";
    lines.push(
      h(
        "p",
        {},
        `Your ${name(subscription.plan)} subscription is `,
        h("strong", { "data-field": "subscription-status", "data-status": subscription.status }, subscription.status),
        renewal ? `; it ${renewal}.` : ".",
      ),
    );
  } else {
    lines.push(h("p", {}, "You have no subscription."));
  }
  section.replaceChildren(h("h2", {}, "Your subscription"), ...lines);
}

// A refused charge (402) is about the card: its message goes beside the card.
function charging(request) {
  return request.catch((error) => {
    throw error.status === 402 && !error.problem.errors ? fieldProblem("/payment_method", error.message) : error;
  });
}

function fieldProblem(pointer, detail) {
  return new ApiError({ status: 422, title: "Check this field", detail, errors: [{ pointer, detail }] });
}

function loadScript(src) {
  if (window.Stripe) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = h("script", {
      src,
      onload: resolve,
      onerror: () => reject(new Error("The card form (Stripe.js) could not be loaded; try again later.")),
    });
    document.head.append(script);
  });
}
