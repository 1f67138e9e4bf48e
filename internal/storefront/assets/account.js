// Logging in, registering, and the account: balance, top-up, balance history.
import { h, put, shortId, field, formValues, busy, money, when, pager } from "./dom.js";
import * as api from "./api.js";

export async function loginView(root, ctx) {
  if (api.current()) return ctx.go("#/books");
  const login = h("form", { class: "panel", "aria-labelledby": "login-title", onsubmit: (e) => {
    e.preventDefault();
    busy(login, async () => {
      const v = formValues(login);
      await api.login(v.email, v.password);
      ctx.go("#/books");
    });
  } },
  h("h2", { id: "login-title" }, "Log in"),
  field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
  field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
  h("button", { type: "submit", class: "primary" }, "Log in"));

  const reg = h("form", { class: "panel", "aria-labelledby": "register-title", onsubmit: (e) => {
    e.preventDefault();
    busy(reg, async () => {
      const v = formValues(reg);
      await api.register(v.email, v.password);
      await api.login(v.email, v.password);
      ctx.go("#/account");
    });
  } },
  h("h2", { id: "register-title" }, "New here? Create an account"),
  field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
  field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 }, "At least 8 characters."),
  h("button", { type: "submit" }, "Create account"));
  root.append(h("div", { class: "columns" }, login, reg));
}

const hist = { stack: [""] };

export async function accountView(root, ctx) {
  const bal = h("p", { class: "balance", id: "balance", role: "status" });
  const showBalance = async () => {
    const { balance } = await api.balance();
    bal.textContent = `Balance: ${money(balance)}`;
  };
  const top = h("form", { class: "panel inline", onsubmit: (e) => {
    e.preventDefault();
    busy(top, async () => {
      const amount = Number(formValues(top).amount);
      if (!Number.isInteger(amount) || amount < 1) throw new Error("Enter a whole number of tokens, at least 1.");
      await api.topUp(amount, api.newKey());
      top.reset();
      hist.stack = [""];
      await Promise.all([showBalance(), loadHistory()]);
    });
  } },
  field("Tokens to add", { name: "amount", type: "number", min: 1, max: 1000000000, step: 1, required: true, inputmode: "numeric" }),
  h("button", { type: "submit", class: "primary" }, "Top up"));

  const history = h("section", { "aria-labelledby": "history-title" });
  const loadHistory = async () => {
    const page = await api.history({ limit: 10, cursor: hist.stack.at(-1) });
    const label = { add: "Top-up", charge: "Order payment", refund: "Refund" };
    put(history, h("h2", { id: "history-title" }, "Balance history"),
      page.items.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["When", "What", "Amount", "Order"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.map((i) => h("tr", {},
          h("td", {}, when(i.createdAt)),
          h("td", {}, label[i.kind] || i.kind),
          h("td", { class: i.amount < 0 ? "neg" : "pos" }, `${i.amount > 0 ? "+" : ""}${i.amount}`),
          h("td", {}, i.orderId ? h("a", { href: `#/order/${i.orderId}` }, shortId(i.orderId)) : "")))))) : h("p", {}, "Nothing yet."),
      pager("History pages", page, hist, loadHistory));
  };
  root.append(bal, h("h2", {}, "Top up tokens"), top, history);
  hist.stack = [""];
  await Promise.all([showBalance(), loadHistory()]);
}
