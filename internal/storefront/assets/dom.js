// DOM helpers: elements are built with createElement and textContent only (never
// innerHTML), so text from the API can never become markup.

// h builds an element: h("button", {type: "submit", onclick: f}, "Save", child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// put replaces el's children (skipping null, undefined and false, which replaceChildren
// would print).
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// shortId is the last 8 characters of a UUID (v7 ids share their first, time-based ones).
export const shortId = (id) => String(id).slice(-8);

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// field is a labelled input: field("Email", {name: "email", type: "email"}).
let seq = 0;
export function field(label, attrs, hint) {
  const id = attrs.id || `f${++seq}`;
  const hintId = hint ? `${id}-hint` : undefined;
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    h("input", { ...attrs, id, "aria-describedby": hintId }),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

// formValues reads a form's named inputs as strings.
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// alertBox shows an error inside a container, announced to screen readers.
export function alertBox(text) {
  return h("p", { class: "error", role: "alert" }, text);
}

// busy disables a form's buttons while fn runs and puts any error text in the form.
export async function busy(form, fn) {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => (b.disabled = true));
  form.querySelectorAll(":scope > .error, :scope > .ok").forEach((e) => e.remove());
  try {
    await fn();
  } catch (err) {
    if (err?.sessionEnded) return;
    form.append(alertBox(err?.message || String(err)));
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

export function money(n) {
  return `${Number(n).toLocaleString("en")} tokens`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString("en", { dateStyle: "medium", timeStyle: "short" }) : "";
}

// pager renders Previous/Next buttons for cursor pagination. state: {stack: [cursor...]}.
export function pager(label, page, state, reload) {
  const prev = state.stack.length > 1;
  const next = page.nextCursor != null;
  if (!prev && !next) return null;
  return h("nav", { class: "pager", "aria-label": label },
    h("button", { type: "button", disabled: !prev, onclick: () => { state.stack.pop(); reload(); } }, "Previous page"),
    h("span", {}, `Page ${state.stack.length}`),
    h("button", { type: "button", disabled: !next, onclick: () => { state.stack.push(page.nextCursor); reload(); } }, "Next page"));
}

// latest guards a view's loads: each begin() returns a check that holds only
// while no later load has begun, so a slow response (the first page) never
// replaces a newer one (a search typed while it loaded).
export function latest() {
  let n = 0;
  return () => { const mine = ++n; return () => mine === n; };
}
