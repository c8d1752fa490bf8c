// Sign up, then "check your email" — with the held email itself on a
// development server, whose mail never leaves the outbox.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { field, h } from "../dom.js";
import { devMailbox } from "./mailbox.js";

export async function render(main) {
  const form = h(
    "form",
    { novalidate: true },
    field("Name", h("input", { name: "name", autocomplete: "name", required: true })),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true }), "at least 10 characters, hard to guess"),
    h("button", { type: "submit" }, "Create account"),
  );
  main.append(h("h1", {}, "Create your account"), form, h("p", {}, "Already have one? ", h("a", { href: "/login" }, "Sign in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    const body = formData(form);
    try {
      await api("POST", "/api/auth/register", body);
    } catch (error) {
      showProblem(form, error);
      return;
    }
    main.replaceChildren(
      h("h1", {}, "Check your email"),
      h("p", { role: "status" }, `We sent a link to ${body.email}. Open it to confirm your address, then sign in.`),
    );
    const held = await devMailbox(body.email);
    if (held) main.append(held);
  });
}
