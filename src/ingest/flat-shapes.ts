// Flattened Windows events come in a few dozen shapes: the same field names in the same order for
// every event of one provider, EventID and version. Building each flat object one field at a time
// costs a hidden-class transition per field; a builder made once per shape creates it in one step,
// and a shape keeps what the normaliser decided once for its fields.

export type Json = Record<string, unknown>;

/** A sequence of flat field names, seen before or new. */
export interface Shape {
  /** Each name once, in first-seen order (a repeated name keeps its first place, as assignment does). */
  readonly unique: readonly string[];
  /** For each unique name, the position of its last value (a repeated name keeps its last value). */
  readonly last: readonly number[];
  /** The flat object from the values, in walk order. */
  build(values: readonly unknown[]): Json;
  /** A picker of these unique names (by their index in `unique`) from a flat object of this shape, into a new object. */
  subset(indices: readonly number[]): (flat: Json) => Json;
  /** What consumers derived from this shape, by their own key (e.g. the normaliser's plan for a table). */
  readonly derived: Map<unknown, unknown>;
  /** Kept by its trie (false for a one-off shape described past the trie's bound). */
  readonly kept: boolean;
}

/** Names an object literal cannot define as own data properties. */
const SPECIAL = new Set(['__proto__']);

/**
 * `s => ({ "A": s[0], "B": s[3] })`, reading each name's value from `s` at its key (an index into the
 * values, or the same name in a flat object). Names are written as JSON string literals, so no field
 * name can be anything but a property name; `__proto__` (which a literal would treat as the prototype)
 * never gets here.
 */
function objectBuilder<S>(names: readonly string[], keys: readonly (number | string)[]): (source: S) => Json {
  const props = names.map((n, i) => `${JSON.stringify(n)}: s[${JSON.stringify(keys[i]!)}]`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds only quoted names and keys
  return new Function('s', `'use strict'; return { ${props.join(', ')} };`) as (source: S) => Json;
}

/** The same object as objectBuilder's, one property at a time: for shapes seen once (no code is generated for them). */
function assigningBuilder<S>(names: readonly string[], keys: readonly (number | string)[]): (source: S) => Json {
  return (source) => {
    const from = source as Record<number | string, unknown>;
    const out: Json = {};
    for (let i = 0; i < names.length; i++) Object.defineProperty(out, names[i]!, { value: from[keys[i]!], enumerable: true, writable: true, configurable: true });
    return out;
  };
}

function describe(names: readonly string[], cached: boolean): Shape {
  const at = new Map<string, number>();
  const unique: string[] = [];
  const last: number[] = [];
  names.forEach((name, i) => {
    const u = at.get(name);
    if (u === undefined) { at.set(name, unique.length); unique.push(name); last.push(i); } else last[u] = i;
  });
  const generated = cached && !unique.some((n) => SPECIAL.has(n));
  const builder = generated ? objectBuilder : assigningBuilder;
  const subset = (indices: readonly number[]) => {
    const names = indices.map((i) => unique[i]!);
    return builder<Json>(names, names);
  };
  return { unique, last, build: builder<readonly unknown[]>(unique, last), subset, derived: new Map(), kept: cached };
}

/** Whether `text` holds `key` at `start` (a loop: for keys this short it measured no slower than `startsWith` with a position). */
export function holdsAt(text: string, start: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) if (text.charCodeAt(start + i) !== key.charCodeAt(i)) return false;
  return true;
}

/**
 * A copy of a string that keeps nothing else alive. V8 may represent a slice as a view of the string it
 * came from (e.g. a whole log line); a kept view keeps that line. Appending forces a flat copy.
 */
export function ownCopy(s: string): string {
  return s.length < 13 ? s : `${s} `.slice(0, -1);
}

/** A name the walker made at a node, from what (see ShapeTrie.name). */
interface Made { readonly prefix: string; readonly key: string; readonly name: string }

interface Node {
  /** The name of the one successor kept in fields (most nodes have one). */
  name: string | undefined;
  next: Node | undefined;
  more: Map<string, Node> | undefined;
  shape: Shape | undefined;
  /** The names made at this node, in the order asked. */
  made: Made[] | undefined;
}

const newNode = (): Node => ({ name: undefined, next: undefined, more: undefined, shape: undefined, made: undefined });
/** Names remembered per node: a walk makes a few (nested System fields) between two fields. */
const MAX_MADE = 16;

/**
 * Shapes by their name sequence, as a trie walked one name per field. Names are the same string
 * objects event after event (they come from the caller's name caches), so a step is usually one
 * identity comparison. Bounded: past `maxNodes`, new shapes are described for one event only.
 */
export class ShapeTrie {
  private readonly root = newNode();
  private nodes = 1;
  private node: Node | null = this.root;
  private readonly names: string[] = [];
  /** Names asked for since the walk reached the current node. */
  private asked = 0;

  constructor(private readonly maxNodes = 100_000) {}

  /** Start a new name sequence. */
  begin(): void {
    this.node = this.root;
    this.names.length = 0;
    this.asked = 0;
  }

  /**
   * `make(prefix, key)`, remembered at the current node: the next event walking the same fields so
   * far asks for the same names in the same order, and gets each for two identity comparisons.
   */
  name(prefix: string, key: string, make: (prefix: string, key: string) => string): string {
    const n = this.node;
    if (n === null) return make(prefix, key);
    const k = this.asked++;
    const made = (n.made ??= []);
    const m = made[k];
    if (m !== undefined && m.key === key && m.prefix === prefix) return m.name;
    const name = make(prefix, key);
    if (k < MAX_MADE) made[k] = { prefix, key, name };
    return name;
  }

  /**
   * `name(prefix, key, make)` for the key `text.slice(start, end)`, without slicing it when this node
   * remembers that key (the usual case: the same fields in the same order as the last such event).
   */
  nameIn(text: string, start: number, end: number, prefix: string, make: (prefix: string, key: string) => string): string {
    const m = this.node?.made?.[this.asked];
    if (m !== undefined && m.prefix === prefix && m.key.length === end - start && holdsAt(text, start, m.key)) {
      this.asked++;
      return m.name;
    }
    return this.name(prefix, text.slice(start, end), make);
  }

  /** The names added since `begin`. */
  added(): readonly string[] {
    return this.names;
  }

  add(name: string): void {
    this.names.push(name);
    this.asked = 0;
    const n = this.node;
    if (n === null) return;
    if (n.name === name) { this.node = n.next!; return; }
    let next = n.name === undefined ? undefined : n.more?.get(name);
    if (next === undefined) {
      if (this.nodes >= this.maxNodes) { this.node = null; return; }
      next = newNode();
      this.nodes++;
      if (n.name === undefined) { n.name = name; n.next = next; } else (n.more ??= new Map()).set(name, next);
    }
    this.node = next;
  }

  /** The shape of the names added since `begin`. */
  end(): Shape {
    const n = this.node;
    if (n === null) return describe(this.names, false);
    return (n.shape ??= describe(this.names, true));
  }
}
