// Sign in; the session cookie carries the session from here on.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { show } from "../app.js";
import { field, h } from "../dom.js";
import { currentUser } from "../session.js";

export async function render(main) {
  const form = h(
    "form",
    { novalidate: true },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"),
  );
  main.append(
    h("h1", {}, "Sign in"),
    form,
    h("p", {}, h("a", { href: "/forgot-password" }, "Forgot your password?"), " · ", h("a", { href: "/signup" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    try {
      await api("POST", "/api/auth/login", formData(form));
    } catch (error) {
      showProblem(form, error);
      return;
    }
    await currentUser({ refresh: true });
    show("/account");
  });
}
