// The basket: book id → {book, quantity}, in memory for this page.
const items = new Map();
const listeners = new Set();
const changed = () => listeners.forEach((fn) => fn());

export const basket = {
  onChange(fn) { listeners.add(fn); },
  items() { return [...items.values()]; },
  count() { let n = 0; for (const i of items.values()) n += i.quantity; return n; },
  quantity(id) { return items.get(id)?.quantity || 0; },
  total() { let t = 0; for (const i of items.values()) t += i.book.price * i.quantity; return t; },
  add(book) { const i = items.get(book.bookId); items.set(book.bookId, { book, quantity: (i?.quantity || 0) + 1 }); changed(); },
  set(id, quantity) {
    const i = items.get(id);
    if (!i) return;
    if (quantity <= 0) items.delete(id); else i.quantity = quantity;
    changed();
  },
  clear() { items.clear(); changed(); },
  // bookIds lists each id once per copy, as POST /api/orders expects.
  bookIds() { return this.items().flatMap((i) => Array(i.quantity).fill(i.book.bookId)); },
};
