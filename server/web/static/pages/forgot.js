// Ask for a password reset link.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { field, h } from "../dom.js";
import { devMailbox } from "./mailbox.js";

export async function render(main) {
  const form = h(
    "form",
    { novalidate: true },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    h("button", { type: "submit" }, "Email me a reset link"),
  );
  main.append(h("h1", {}, "Reset your password"), form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    const body = formData(form);
    try {
      await api("POST", "/api/auth/password/forgot", body);
    } catch (error) {
      showProblem(form, error);
      return;
    }
    main.replaceChildren(h("h1", {}, "Check your email"), h("p", { role: "status" }, `If ${body.email} has an account, a reset link is on its way.`));
    const held = await devMailbox(body.email);
    if (held) main.append(held);
  });
}
