// Shopping: the catalogue (search, pages, add to basket) and the basket (place the order).
import { h, put, field, formValues, busy, money, pager, alertBox, latest } from "./dom.js";
import * as api from "./api.js";
import { basket } from "./basket.js";

const catalog = { q: "", stack: [""] };

export async function catalogView(root, ctx) {
  const search = h("form", { role: "search", class: "search", onsubmit: (e) => {
    e.preventDefault();
    catalog.q = formValues(search).q.trim();
    catalog.stack = [""];
    load();
  } },
  field("Search by title or author", { name: "q", type: "search", value: catalog.q, maxlength: 200 }),
  h("button", { type: "submit" }, "Search"));
  const results = h("section", { "aria-label": "Books", "aria-live": "polite", "aria-busy": "true" });
  root.append(search, results);

  const begin = latest();
  async function load() {
    const current = begin();
    results.setAttribute("aria-busy", "true");
    const page = await api.books({ q: catalog.q, limit: 12, cursor: catalog.stack.at(-1) });
    if (!current()) return; // a newer search or page owns the list
    results.setAttribute("aria-busy", "false");
    if (!page.items.length) {
      put(results, h("p", {}, catalog.q ? `No books match “${catalog.q}”.` : "The catalogue is empty."));
      return;
    }
    put(results, 
      h("ul", { class: "cards" }, page.items.map(bookCard)),
      pager("Book pages", page, catalog, load));
  }
  await load();
}

function bookCard(b) {
  const inBasket = basket.quantity(b.bookId);
  const out = b.amount <= 0;
  const full = inBasket >= b.amount;
  const status = h("p", { class: "added", role: "status" }, inBasket ? `${inBasket} in basket` : "");
  const button = h("button", { type: "button", disabled: out || full, "aria-describedby": `stock-${b.bookId}`, onclick: () => {
    basket.add(b);
    const n = basket.quantity(b.bookId);
    status.textContent = `${n} in basket`;
    if (n >= b.amount) { button.disabled = true; button.textContent = "All copies in basket"; }
  } }, out ? "Out of stock" : full ? "All copies in basket" : `Add “${b.title}” to basket`);
  return h("li", { class: "card book", "data-book-id": b.bookId },
    h("h2", {}, b.title),
    h("p", { class: "author" }, `by ${b.author}`),
    h("p", { class: "price" }, money(b.price)),
    h("p", { class: out ? "stock out" : "stock", id: `stock-${b.bookId}` }, out ? "Out of stock" : `${b.amount} in stock`),
    button, status);
}

export async function basketView(root, ctx) {
  const items = basket.items();
  if (!items.length) {
    root.append(h("p", {}, "Your basket is empty. ", h("a", { href: "#/books" }, "Browse the books"), "."));
    return;
  }
  const { balance } = await api.balance();
  const total = basket.total();
  const rows = items.map((i) => h("tr", {},
    h("th", { scope: "row" }, i.book.title),
    h("td", {}, money(i.book.price)),
    h("td", {}, h("label", { class: "sr-only", for: `qty-${i.book.bookId}` }, `Quantity of ${i.book.title}`),
      h("input", { id: `qty-${i.book.bookId}`, type: "number", min: 0, max: i.book.amount, value: i.quantity, class: "qty",
        onchange: (e) => { basket.set(i.book.bookId, Math.min(Number(e.target.value) || 0, i.book.amount)); ctx.go("#/basket"); } })),
    h("td", {}, money(i.book.price * i.quantity))));
  const short = total > balance;
  const form = h("form", { onsubmit: (e) => {
    e.preventDefault();
    busy(form, async () => {
      const out = await api.placeOrder(basket.bookIds(), api.newKey());
      basket.clear();
      ctx.go(`#/order/${out.orderId}`);
    });
  } },
  short ? alertBox(`Insufficient balance: the basket costs ${money(total)} and you have ${money(balance)}. `) : null,
  short ? h("p", {}, h("a", { href: "#/account" }, "Top up tokens"), " first, or the order will fail.") : null,
  h("button", { type: "submit", class: "primary" }, `Place order for ${money(total)}`));
  root.append(
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "sr-only" }, "Books in your basket"),
      h("thead", {}, h("tr", {}, ["Book", "Price", "Quantity", "Subtotal"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 3 }, "Total"), h("td", { id: "basket-total" }, money(total)))))),
    h("p", {}, `Your balance: ${money(balance)}`),
    form);
}
