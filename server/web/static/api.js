// Calls to the Rateline REST API and the display of its problem+json errors.

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "Request failed");
    this.problem = problem;
    this.status = problem.status;
  }
}

export async function api(method, path, body, { accept = "application/json" } = {}) {
  const init = { method, headers: { Accept: accept }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError({ status: 0, title: "Network error", detail: "Rateline cannot be reached; check your connection and try again." });
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    const problem = type.includes("json")
      ? await response.json()
      : { status: response.status, title: response.statusText, detail: await response.text() };
    throw new ApiError(problem);
  }
  if (response.status === 204) return null;
  return type.includes("json") ? response.json() : response.text();
}

// Shows each error of a problem beside the input its JSON pointer names
// (`data-pointer` on the input, or its name), and the rest at the form's top.
export function showProblem(form, error) {
  clearProblem(form);
  const problem = error instanceof ApiError ? error.problem : { detail: String(error) };
  const unplaced = [];
  for (const item of problem.errors || []) {
    const input = fieldFor(form, item.pointer);
    if (input) {
      const message = document.createElement("span");
      message.className = "field-error";
      message.id = `${input.id}-error`;
      message.textContent = item.detail;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", message.id);
      const holder = input.closest("label, .field");
      if (holder) holder.append(message);
      else input.after(message);
    } else {
      unplaced.push(item.pointer ? `${item.pointer}: ${item.detail}` : item.detail);
    }
  }
  if (!problem.errors?.length || unplaced.length) {
    let box = form.querySelector(".form-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "form-error";
      box.setAttribute("role", "alert");
      form.prepend(box);
    }
    box.textContent = unplaced.length ? unplaced.join("; ") : problem.detail || problem.title;
    box.hidden = false;
  }
  form.querySelector("[aria-invalid=true]")?.focus();
}

export function clearProblem(form) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  });
  const box = form.querySelector(".form-error");
  if (box) box.hidden = true;
}

function fieldFor(form, pointer) {
  if (!pointer) return null;
  const name = pointer.split("/")[1];
  return form.querySelector(`[data-pointer="${pointer}"]`) || (name && form.elements.namedItem(name));
}

// The form's inputs as an object; empty optional inputs are left out, so the
// server applies its defaults.
export function formData(form) {
  const data = {};
  for (const input of form.elements) {
    if (!input.name || input.disabled) continue;
    if (input.type === "checkbox") data[input.name] = input.checked;
    else if (input.value.trim() !== "") data[input.name] = input.dataset.type === "int" ? Number(input.value) : input.value.trim();
  }
  return data;
}
