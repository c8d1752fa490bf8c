// Set a new password with the emailed token; every session ends.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { field, h } from "../dom.js";
import { forgetUser } from "../session.js";

export async function render(main, params) {
  const form = h(
    "form",
    { novalidate: true },
    h("input", { type: "hidden", name: "token", value: params.get("token") || "" }),
    field("New password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true })),
    h("button", { type: "submit" }, "Set password"),
  );
  main.append(h("h1", {}, "Choose a new password"), form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(form);
    try {
      await api("POST", "/api/auth/password/reset", formData(form));
    } catch (error) {
      showProblem(form, error);
      return;
    }
    forgetUser();
    main.replaceChildren(h("h1", {}, "Password changed"), h("p", { role: "status" }, "Every device was signed out. ", h("a", { href: "/login" }, "Sign in")));
  });
}
