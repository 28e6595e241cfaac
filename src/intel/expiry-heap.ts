/** A min-heap of (expiry ms, indicator id): the sweep pops what is due in O(k log n). Stale entries are skipped by the caller. */
export class ExpiryHeap {
  private readonly exp: number[] = [];
  private readonly ids: string[] = [];

  get size(): number { return this.exp.length; }

  push(exp: number, id: string): void {
    let i = this.exp.length;
    this.exp.push(exp);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.exp[parent] <= exp) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest expiry, or Infinity when empty. */
  peek(): number { return this.exp.length ? this.exp[0] : Infinity; }

  pop(): { exp: number; id: string } | undefined {
    if (this.exp.length === 0) return undefined;
    const top = { exp: this.exp[0], id: this.ids[0] };
    const lastExp = this.exp.pop()!;
    const lastId = this.ids.pop()!;
    if (this.exp.length > 0) {
      this.exp[0] = lastExp;
      this.ids[0] = lastId;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.exp.length && this.exp[l] < this.exp[m]) m = l;
        if (r < this.exp.length && this.exp[r] < this.exp[m]) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number) {
    [this.exp[a], this.exp[b]] = [this.exp[b], this.exp[a]];
    [this.ids[a], this.ids[b]] = [this.ids[b], this.ids[a]];
  }
}
