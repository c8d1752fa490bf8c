// Small helpers for building the page: elements from tags, and labelled inputs.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

let ids = 0;

// A labelled input: every input has a label, and errors land inside the field.
export function field(label, input, hint) {
  input.id ||= `f${++ids}`;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("small", {}, hint) : null);
}

export function select(attrs, options) {
  return h("select", attrs, ...options.map(([value, text]) => h("option", { value }, text)));
}

export function dollars(value) {
  return value === null || value === undefined ? "—" : `$${value}`;
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${value}%`;
}

export const PRODUCT_NAMES = {
  "30y_fixed": "30-year fixed",
  "15y_fixed": "15-year fixed",
  "5_6_arm": "5/6 ARM",
  fha_30: "FHA 30-year",
  va_30: "VA 30-year",
  jumbo_30: "Jumbo 30-year",
};

export const US_STATES = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split(" ");
