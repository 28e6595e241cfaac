// KQL text → frozen syntax tree (kql-nodes.ts), by hand-written recursive descent.
// Grammar as used by Defender advanced hunting: https://learn.microsoft.com/kusto/query/
import { syntaxError } from './kql-errors.js';
import { tokenize, type Token } from './kql-lexer.js';
import {
  freeze, type ColumnDecl, type Expr, type JoinKey, type JoinKind, type NamedExpr, type ParsePart, type Query,
  type SortItem, type Statement, type TabularOp, type UnionOptions,
} from './kql-nodes.js';

/** Binary string/comparison operators at the comparison precedence level. */
const STRING_OPS = new Set([
  'has', '!has', 'has_cs', '!has_cs', 'hasprefix', '!hasprefix', 'hasprefix_cs', '!hasprefix_cs', 'hassuffix',
  '!hassuffix', 'hassuffix_cs', '!hassuffix_cs', 'contains', '!contains', 'contains_cs', '!contains_cs',
  'startswith', '!startswith', 'startswith_cs', '!startswith_cs', 'endswith', '!endswith', 'endswith_cs',
  '!endswith_cs', 'like', 'notlike', 'matches', 'contains~', 'has~',
]);
const LIST_OPS = new Set(['in', '!in', 'in~', '!in~', 'has_any', 'has_all', '!has_any', 'has_any_cs']);
const COMPARE_OPS = new Set(['==', '!=', '<>', '<', '>', '<=', '>=', '=~', '!~']);

const JOIN_KINDS: Record<string, JoinKind> = {
  innerunique: 'innerunique', inner: 'inner', leftouter: 'leftouter', rightouter: 'rightouter',
  fullouter: 'fullouter', outer: 'fullouter', leftanti: 'leftanti', anti: 'leftanti', leftantisemi: 'leftanti',
  rightanti: 'rightanti', rightantisemi: 'rightanti', leftsemi: 'leftsemi', semi: 'leftsemi', rightsemi: 'rightsemi',
};

const UNSUPPORTED_OPS = new Set(['top-nested', 'top-hitters', 'scan', 'partition', 'fork', 'facet', 'make-graph', 'graph-match', 'parse-kv', 'reduce', 'externaldata', 'lookup-graph']);

/** Parse a whole query. Throws KqlError('kql_syntax') with line and column. */
export function parseKql(text: string): Query {
  return new Parser(text).parseQuery();
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  /** Inside a search/find predicate, `Column:"term"` means Column has "term". */
  private inSearch = false;
  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  // ---- token helpers -------------------------------------------------------------------
  private peek(o = 0): Token {
    return this.tokens[Math.min(this.i + o, this.tokens.length - 1)];
  }
  private next(): Token {
    const t = this.tokens[this.i];
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.type === 'op' && t.value === v;
  }
  private isWord(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.type === 'ident' && t.value === v;
  }
  private acceptOp(v: string): boolean {
    if (this.isOp(v)) {
      this.next();
      return true;
    }
    return false;
  }
  private acceptWord(v: string): boolean {
    if (this.isWord(v)) {
      this.next();
      return true;
    }
    return false;
  }
  private fail(t: Token, message: string): never {
    throw syntaxError(this.text, t.pos, message);
  }
  private describe(t: Token): string {
    if (t.type === 'eof') return 'end of query';
    if (t.type === 'string') return 'a string';
    return `'${t.value}'`;
  }
  private expectOp(v: string, context?: string): Token {
    const t = this.peek();
    if (t.type === 'op' && t.value === v) return this.next();
    this.fail(t, `Expected '${v}'${context ? ` ${context}` : ''} but found ${this.describe(t)}`);
  }
  private expectWord(v: string, context?: string): Token {
    const t = this.peek();
    if (t.type === 'ident' && t.value === v) return this.next();
    this.fail(t, `Expected '${v}'${context ? ` ${context}` : ''} but found ${this.describe(t)}`);
  }
  private expectIdent(context: string): string {
    const t = this.peek();
    if (t.type === 'ident') return this.next().value;
    if (t.type === 'op' && t.value === '[' && this.peek(1).type === 'string' && this.isOp(']', 2)) {
      this.next();
      const name = this.next().value;
      this.next();
      return name;
    }
    this.fail(t, `Expected ${context} but found ${this.describe(t)}`);
  }
  private atStatementEnd(): boolean {
    const t = this.peek();
    return t.type === 'eof' || (t.type === 'op' && (t.value === ';' || t.value === '|' || t.value === ')' || t.value === '}'));
  }

  // ---- statements ----------------------------------------------------------------------
  parseQuery(): Query {
    const statements = this.parseStatements('eof');
    const t = this.peek();
    if (t.type !== 'eof') this.fail(t, `Unexpected ${this.describe(t)}: a statement should end here`);
    if (!statements.some((s) => s.kind === 'expr')) {
      this.fail(t, 'The query has only let statements: add the tabular expression that uses them');
    }
    return freeze({ kind: 'query', statements: Object.freeze(statements) });
  }

  private parseStatements(end: 'eof' | '}'): Statement[] {
    const out: Statement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      const t = this.peek();
      if (t.type === 'eof' || (end === '}' && this.isOp('}'))) break;
      if (this.isWord('let') && this.peek(1).type === 'ident') {
        this.next();
        const name = this.expectIdent('a name after let');
        this.expectOp('=', `after 'let ${name}'`);
        const value = this.parseLetValue();
        out.push(freeze({ kind: 'let', name, value, pos: t.pos }));
      } else if (this.isWord('set') && this.peek(1).type === 'ident') {
        this.next();
        const name = this.expectIdent('an option name');
        if (this.acceptOp('=')) this.parsePipe();
        out.push(freeze({ kind: 'set', name, pos: t.pos }));
      } else if (this.isWord('declare') || this.isWord('alias')) {
        this.fail(t, `'${t.value}' statements are not supported`);
      } else {
        out.push(freeze({ kind: 'expr', expr: this.parsePipe(), pos: t.pos }));
      }
      if (!this.acceptOp(';')) break;
    }
    return out;
  }

  private parseLetValue(): Expr {
    const start = this.peek();
    if (this.isWord('view') && this.isOp('(', 1)) this.next();
    if (this.isOp('(') && this.looksLikeLambda()) {
      this.next();
      const params: ColumnDecl[] = [];
      while (!this.isOp(')')) {
        if (this.isOp('*')) {
          this.next();
          params.push({ name: '*', type: 'table' });
        } else {
          const name = this.expectIdent('a parameter name');
          this.expectOp(':', `after parameter ${name}`);
          const type = this.parseTypeName();
          let def: Expr | undefined;
          if (this.acceptOp('=')) def = this.parseExpr();
          params.push(Object.freeze({ name, type, default: def }));
        }
        if (!this.acceptOp(',')) break;
      }
      this.expectOp(')', 'to close the parameter list');
      this.expectOp('{', 'to open the function body');
      const statements = this.parseStatements('}');
      this.expectOp('}', 'to close the function body');
      return freeze({ kind: 'lambda', params: Object.freeze(params), body: freeze({ kind: 'query', statements: Object.freeze(statements) }), pos: start.pos });
    }
    return this.parsePipe();
  }

  private looksLikeLambda(): boolean {
    // `()` or `(name: type` or `(*)` start a lambda; anything else is a parenthesised expression.
    if (this.isOp(')', 1)) return this.isOp('{', 2);
    if (this.isOp('*', 1) && this.isOp(')', 2)) return true;
    return this.peek(1).type === 'ident' && this.isOp(':', 2);
  }

  private parseTypeName(): string {
    const t = this.peek();
    if (t.type === 'ident' || t.type === 'datetime' || t.type === 'timespan') {
      this.next();
      if (t.type !== 'ident') return t.type;
      if (this.isOp('(')) {
        // (*) or (col:type, …) for tabular parameters
        let depth = 0;
        do {
          if (this.isOp('(')) depth++;
          else if (this.isOp(')')) depth--;
          this.next();
        } while (depth > 0 && this.peek().type !== 'eof');
        return 'table';
      }
      return t.value;
    }
    this.fail(t, `Expected a type name but found ${this.describe(t)}`);
  }

  // ---- tabular pipelines ---------------------------------------------------------------
  parsePipe(): Expr {
    let input = this.parseSource();
    while (this.isOp('|')) {
      const bar = this.next();
      const op = this.parseTabularOp();
      input = freeze({ kind: 'pipe', input, op, pos: bar.pos });
    }
    return input;
  }

  /** A pipeline's first element: a table, a let name, a function call, or union/datatable/print/range/search. */
  private parseSource(): Expr {
    const t = this.peek();
    if (t.type === 'ident') {
      switch (t.value) {
        case 'union':
          if (!this.isOp('(', 1) || this.peek(1).spaced) {
            this.next();
            const { options, tables } = this.parseUnionBody();
            return freeze({ kind: 'union', options, tables, pos: t.pos });
          }
          break;
        case 'datatable':
          return this.parseDatatable();
        case 'print':
          if (!this.isOp('(', 1)) {
            this.next();
            return freeze({ kind: 'print', items: this.parseNamedList(), pos: t.pos });
          }
          break;
        case 'range':
          if (this.peek(1).type === 'ident') {
            this.next();
            const name = this.expectIdent('a column name');
            this.expectWord('from', 'in range');
            const from = this.parseExpr();
            this.expectWord('to', 'in range');
            const to = this.parseExpr();
            this.expectWord('step', 'in range');
            const step = this.parseExpr();
            return freeze({ kind: 'range', name, from, to, step, pos: t.pos });
          }
          break;
        case 'search':
        case 'find':
          if (!this.isOp('(', 1)) return this.parseSearchSource();
          break;
        case 'externaldata':
          this.fail(t, "externaldata is not supported: Vigil's hunting runs only over stored telemetry");
          break;
        default:
          break;
      }
    }
    return this.parseExpr();
  }

  private parseSearchSource(): Expr {
    const t = this.next();
    let tables: Expr[] | null = null;
    this.skipOptions();
    if (this.acceptWord('in')) {
      this.expectOp('(', `after '${t.value} in'`);
      tables = [];
      do tables.push(this.parseTableRef());
      while (this.acceptOp(','));
      this.expectOp(')', 'to close the table list');
    }
    if (t.value === 'find') this.acceptWord('where');
    this.inSearch = true;
    const predicate = this.parseExpr();
    this.inSearch = false;
    if (t.value === 'find' && this.acceptWord('project')) {
      this.parseNamedList();
    }
    return freeze({ kind: 'search', tables: tables && Object.freeze(tables), predicate, pos: t.pos });
  }

  /** A table reference inside union/search: a name (wildcards allowed), a call, or a parenthesised pipeline. */
  private parseTableRef(): Expr {
    const t = this.peek();
    if (t.type === 'ident' && this.isOp('*', 1) && !this.peek(1).spaced) {
      this.next();
      this.next();
      let name = `${t.value}*`;
      if (this.peek().type === 'ident' && !this.peek().spaced) name += this.next().value;
      return freeze({ kind: 'ident', name, pos: t.pos });
    }
    return this.parsePostfix();
  }

  private skipOptions(): Record<string, string> {
    const opts: Record<string, string> = {};
    // kind=…, isfuzzy=…, hint.strategy=…, withsource=…, bagexpansion=…
    for (;;) {
      const t = this.peek();
      if (t.type !== 'ident') break;
      let name = t.value;
      let k = 1;
      while (this.isOp('.', k) && this.peek(k + 1).type === 'ident') {
        name += `.${this.peek(k + 1).value}`;
        k += 2;
      }
      if (!this.isOp('=', k)) break;
      const isOption = /^(kind|isfuzzy|withsource|hint\..*|bagexpansion|with_itemindex|flags|decodeblocks|bin_legacy|with_match_id|kind_|source)$/.test(name);
      if (!isOption) break;
      for (let j = 0; j <= k; j++) this.next();
      const v = this.next();
      opts[name] = v.value;
    }
    return opts;
  }

  private parseUnionBody(): { options: UnionOptions; tables: Expr[] } {
    const opts = this.skipOptions();
    const options: UnionOptions = Object.freeze({
      kind: opts.kind === 'inner' ? 'inner' : 'outer',
      isfuzzy: opts.isfuzzy === 'true',
      withsource: opts.withsource ?? null,
    });
    const tables: Expr[] = [];
    do tables.push(this.parseTableRef());
    while (this.acceptOp(','));
    return { options, tables: Object.freeze(tables) as Expr[] };
  }

  private parseDatatable(): Expr {
    const t = this.next();
    this.expectOp('(', 'after datatable');
    const columns: ColumnDecl[] = [];
    while (!this.isOp(')')) {
      const name = this.expectIdent('a column name');
      this.expectOp(':', `after column ${name}`);
      columns.push(Object.freeze({ name, type: this.parseTypeName() }));
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(')', 'to close the datatable columns');
    this.expectOp('[', 'to open the datatable values');
    const values: Expr[] = [];
    while (!this.isOp(']')) {
      values.push(this.parseExpr());
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(']', 'to close the datatable values');
    if (columns.length === 0 || values.length % columns.length !== 0) {
      this.fail(t, `datatable has ${values.length} values, which is not a multiple of its ${columns.length} columns`);
    }
    return freeze({ kind: 'datatable', columns: Object.freeze(columns), values: Object.freeze(values), pos: t.pos });
  }

  private parseTabularOp(): TabularOp {
    const t = this.peek();
    if (t.type !== 'ident') this.fail(t, `Expected a tabular operator after '|' but found ${this.describe(t)}`);
    this.next();
    const name = t.value;
    switch (name) {
      case 'where':
      case 'filter':
        return freeze({ kind: 'where', predicate: this.parseExpr() });
      case 'extend':
        return freeze({ kind: 'extend', items: this.parseNamedList() });
      case 'project':
        return freeze({ kind: 'project', items: this.parseNamedList() });
      case 'project-away':
        return freeze({ kind: 'projectAway', columns: this.parseColumnPatterns() });
      case 'project-keep':
        return freeze({ kind: 'projectKeep', columns: this.parseColumnPatterns() });
      case 'project-reorder':
        return freeze({ kind: 'projectReorder', columns: this.parseColumnPatterns(true) });
      case 'project-rename': {
        const items: { name: string; from: string }[] = [];
        do {
          const n = this.expectIdent('a new column name');
          this.expectOp('=', 'in project-rename (NewName = OldName)');
          items.push(Object.freeze({ name: n, from: this.expectIdent('the column to rename') }));
        } while (this.acceptOp(','));
        return freeze({ kind: 'projectRename', items: Object.freeze(items) });
      }
      case 'summarize': {
        this.skipOptions();
        const aggs = this.isWord('by') ? [] : this.parseNamedList();
        const by = this.acceptWord('by') ? this.parseNamedList() : [];
        return freeze({ kind: 'summarize', aggs: Object.freeze(aggs), by: Object.freeze(by) });
      }
      case 'join':
      case 'lookup': {
        const opts = this.skipOptions();
        const kindName = opts.kind ?? (name === 'lookup' ? 'leftouter' : 'innerunique');
        const joinKind = JOIN_KINDS[kindName];
        if (!joinKind) this.fail(t, `Unknown join kind '${kindName}'`);
        const right = this.parseJoinRight();
        const on = this.parseJoinKeys();
        return freeze({ kind: 'join', joinKind, right, on, lookup: name === 'lookup' });
      }
      case 'union': {
        const { options, tables } = this.parseUnionBody();
        return freeze({ kind: 'union', options, tables });
      }
      case 'sort':
      case 'order': {
        this.skipOptions();
        this.expectWord('by', `after '${name}'`);
        const by: SortItem[] = [];
        do by.push(this.parseSortItem());
        while (this.acceptOp(','));
        return freeze({ kind: 'sort', by: Object.freeze(by) });
      }
      case 'top': {
        const count = this.parseExpr();
        this.expectWord('by', 'after top N');
        return freeze({ kind: 'top', count, by: this.parseSortItem() });
      }
      case 'take':
      case 'limit':
        this.skipOptions();
        return freeze({ kind: 'take', count: this.parseExpr() });
      case 'sample':
        return freeze({ kind: 'sample', count: this.parseExpr() });
      case 'distinct':
        this.skipOptions();
        if (this.acceptOp('*')) return freeze({ kind: 'distinct', items: 'all' });
        return freeze({ kind: 'distinct', items: this.parseNamedList() });
      case 'count': {
        let cname = 'Count';
        if (this.acceptWord('as')) cname = this.expectIdent('a column name');
        return freeze({ kind: 'count', name: cname });
      }
      case 'mv-expand':
      case 'mvexpand': {
        const opts = this.skipOptions();
        const items = this.parseExpandItems();
        let limit: Expr | null = null;
        if (this.acceptWord('limit')) limit = this.parseExpr();
        return freeze({ kind: 'mvExpand', items, limit, itemIndex: opts.with_itemindex ?? null });
      }
      case 'mv-apply': {
        this.skipOptions();
        const items = this.parseExpandItems();
        if (this.acceptWord('limit')) this.parseExpr();
        this.expectWord('on', 'in mv-apply');
        this.expectOp('(', "after 'mv-apply … on'");
        const body = this.parsePipeFromRowSource();
        this.expectOp(')', 'to close the mv-apply subquery');
        return freeze({ kind: 'mvApply', items, body });
      }
      case 'parse':
      case 'parse-where':
        return this.parseParseOp();
      case 'make-series':
        return this.parseMakeSeries();
      case 'evaluate': {
        this.skipOptions();
        const plugin = this.expectIdent('a plugin name after evaluate');
        this.expectOp('(', `after evaluate ${plugin}`);
        const args = this.parseArgs();
        return freeze({ kind: 'evaluate', plugin, args });
      }
      case 'invoke': {
        const fname = this.expectIdent('a function name after invoke');
        this.expectOp('(', `after invoke ${fname}`);
        return freeze({ kind: 'invoke', name: fname, args: this.parseArgs() });
      }
      case 'render': {
        const chart = this.expectIdent('a chart type after render');
        const properties: Record<string, unknown> = {};
        if (this.acceptWord('with')) {
          this.expectOp('(', "after 'render … with'");
          while (!this.isOp(')')) {
            const k = this.expectIdent('a render property');
            this.expectOp('=', `after ${k}`);
            const v = this.parseExpr();
            properties[k] = v.kind === 'literal' ? v.value : v.kind === 'ident' ? v.name : null;
            if (!this.acceptOp(',')) break;
          }
          this.expectOp(')', 'to close the render properties');
        }
        return freeze({ kind: 'render', chart, properties: Object.freeze(properties) });
      }
      case 'serialize':
        return freeze({ kind: 'serialize', items: this.atStatementEnd() ? [] : this.parseNamedList() });
      case 'getschema':
        return freeze({ kind: 'getschema' });
      case 'as':
        this.skipOptions();
        return freeze({ kind: 'as', name: this.expectIdent('a name after as') });
      case 'search': {
        this.skipOptions();
        this.inSearch = true;
        const predicate = this.parseExpr();
        this.inSearch = false;
        return freeze({ kind: 'search', predicate });
      }
      default:
        if (UNSUPPORTED_OPS.has(name)) this.fail(t, `The '${name}' operator is not supported by Vigil's hunting engine`);
        this.fail(t, `Unknown tabular operator '${name}'`);
    }
  }

  /** mv-apply's subquery starts with a pipe operator applied to the expanded rows. */
  private parsePipeFromRowSource(): Expr {
    let input: Expr = freeze({ kind: 'ident', name: '$mvapply', pos: this.peek().pos });
    if (!this.isOp('|')) {
      // `on ( where … )`: the subquery may start with an operator, without a bar.
      input = freeze({ kind: 'pipe', input, op: this.parseTabularOp(), pos: this.peek().pos });
    }
    while (this.isOp('|')) {
      const bar = this.next();
      input = freeze({ kind: 'pipe', input, op: this.parseTabularOp(), pos: bar.pos });
    }
    // `on ( where … )` without a leading bar
    return input;
  }

  private parseExpandItems(): (NamedExpr & { toType: string | null })[] {
    const items: (NamedExpr & { toType: string | null })[] = [];
    do {
      const item = this.parseNamed();
      let toType: string | null = null;
      if (this.acceptWord('to')) {
        this.expectWord('typeof', "after 'to'");
        this.expectOp('(', 'after typeof');
        toType = this.parseTypeName();
        this.expectOp(')', 'to close typeof');
      }
      items.push(Object.freeze({ ...item, toType }));
    } while (this.acceptOp(','));
    return Object.freeze(items) as (NamedExpr & { toType: string | null })[];
  }

  private parseJoinRight(): Expr {
    if (this.isOp('(')) {
      this.next();
      const e = this.parsePipe();
      this.expectOp(')', 'to close the join subquery');
      return e;
    }
    return this.parsePostfix();
  }

  private parseJoinKeys(): JoinKey[] {
    this.expectWord('on', 'after the right side of the join');
    const keys: JoinKey[] = [];
    do {
      const t = this.peek();
      const a = this.parseJoinSide();
      if (this.acceptOp('==')) {
        const b = this.parseJoinSide();
        const left = a.side === 'right' ? b.name : a.name;
        const right = a.side === 'right' ? a.name : b.name;
        keys.push(Object.freeze({ left, right, pos: t.pos }));
      } else {
        if (a.side !== null) this.fail(t, "Write join keys as Column or $left.Column == $right.Column");
        keys.push(Object.freeze({ left: a.name, right: a.name, pos: t.pos }));
      }
    } while (this.acceptOp(',') || this.acceptWord('and'));
    return Object.freeze(keys) as JoinKey[];
  }

  private parseJoinSide(): { side: 'left' | 'right' | null; name: string } {
    if (this.isWord('$left') || this.isWord('$right')) {
      const side = this.next().value === '$left' ? 'left' : 'right';
      this.expectOp('.', `after $${side}`);
      return { side, name: this.expectIdent('a column name') };
    }
    return { side: null, name: this.expectIdent('a join column') };
  }

  private parseSortItem(): SortItem {
    const expr = this.parseExpr();
    let desc = true;
    if (this.acceptWord('asc')) desc = false;
    else this.acceptWord('desc');
    let nulls: 'first' | 'last' | null = null;
    if (this.acceptWord('nulls')) {
      if (this.acceptWord('first')) nulls = 'first';
      else {
        this.expectWord('last', "after 'nulls'");
        nulls = 'last';
      }
    }
    return Object.freeze({ expr, desc, nulls });
  }

  private parseColumnPatterns(withOrder = false): string[] {
    const cols: string[] = [];
    do {
      const t = this.peek();
      let name = '';
      if (this.isOp('*')) {
        this.next();
        name = '*';
      } else name = this.expectIdent('a column name');
      while (this.isOp('*') && !this.peek().spaced) {
        this.next();
        name += '*';
        if (this.peek().type === 'ident' && !this.peek().spaced) name += this.next().value;
      }
      if (withOrder && (this.isWord('asc') || this.isWord('desc') || this.isWord('granny-asc') || this.isWord('granny-desc'))) this.next();
      if (!name) this.fail(t, 'Expected a column name');
      cols.push(name);
    } while (this.acceptOp(','));
    return Object.freeze(cols) as string[];
  }

  private parseParseOp(): TabularOp {
    const opts = this.skipOptions();
    const regexMode = opts.kind === 'regex';
    const source = this.parseExpr();
    this.expectWord('with', 'in parse (parse Column with "text" Name …)');
    const parts: ParsePart[] = [];
    while (!this.atStatementEnd()) {
      const t = this.peek();
      if (this.acceptOp('*')) parts.push({ kind: 'wild' });
      else if (t.type === 'string') parts.push({ kind: 'text', text: this.next().value });
      else if (t.type === 'ident') {
        const name = this.next().value;
        let type = 'string';
        if (this.acceptOp(':')) type = this.parseTypeName();
        parts.push({ kind: 'column', name, type });
      } else this.fail(t, `Unexpected ${this.describe(t)} in the parse pattern`);
    }
    return freeze({ kind: 'parse', source, regexMode, parts: Object.freeze(parts) });
  }

  private parseMakeSeries(): TabularOp {
    this.skipOptions();
    const aggs: NamedExpr[] = [];
    const defaults: (Expr | null)[] = [];
    do {
      aggs.push(this.parseNamed());
      defaults.push(this.acceptWord('default') ? (this.expectOp('='), this.parseExpr()) : null);
    } while (this.acceptOp(','));
    this.expectWord('on', 'in make-series');
    const on = this.parseExpr();
    let from: Expr | null = null;
    let to: Expr | null = null;
    let step: Expr | null = null;
    if (this.acceptWord('in')) {
      this.expectWord('range', "after 'in'");
      this.expectOp('(');
      from = this.parseExpr();
      this.expectOp(',');
      to = this.parseExpr();
      this.expectOp(',');
      step = this.parseExpr();
      this.expectOp(')');
    } else {
      if (this.acceptWord('from')) from = this.parseExpr();
      if (this.acceptWord('to')) to = this.parseExpr();
      this.expectWord('step', 'in make-series');
      step = this.parseExpr();
    }
    const by = this.acceptWord('by') ? this.parseNamedList() : [];
    return freeze({ kind: 'makeSeries', aggs: Object.freeze(aggs), defaults: Object.freeze(defaults), on, from, to, step, by: Object.freeze(by) });
  }

  private parseNamedList(): NamedExpr[] {
    const items: NamedExpr[] = [];
    do items.push(this.parseNamed());
    while (this.acceptOp(','));
    return Object.freeze(items) as NamedExpr[];
  }

  private parseNamed(): NamedExpr {
    const t = this.peek();
    if ((t.type === 'ident') && this.isOp('=', 1)) {
      this.next();
      this.next();
      return Object.freeze({ name: t.value, expr: this.parseExpr() });
    }
    if (this.isOp('[') && this.peek(1).type === 'string' && this.isOp(']', 2) && this.isOp('=', 3)) {
      this.next();
      const name = this.next().value;
      this.next();
      this.next();
      return Object.freeze({ name, expr: this.parseExpr() });
    }
    if (this.isOp('(') && this.peek(1).type === 'ident' && (this.isOp(',', 2) || this.isOp(')', 2))) {
      // (A, B) = arg_max(...) — names for a multi-column aggregate
      const save = this.i;
      this.next();
      const names: string[] = [];
      while (this.peek().type === 'ident') {
        names.push(this.next().value);
        if (!this.acceptOp(',')) break;
      }
      if (this.acceptOp(')') && this.acceptOp('=')) {
        return Object.freeze({ name: names.join(','), expr: this.parseExpr() });
      }
      this.i = save;
    }
    return Object.freeze({ name: null, expr: this.parseExpr() });
  }

  // ---- scalar expressions --------------------------------------------------------------
  parseExpr(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      const t = this.next();
      left = freeze({ kind: 'binary', op: 'or', left, right: this.parseAnd(), pos: t.pos });
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseComparison();
    while (this.isWord('and')) {
      const t = this.next();
      left = freeze({ kind: 'binary', op: 'and', left, right: this.parseComparison(), pos: t.pos });
    }
    return left;
  }

  private parseComparison(): Expr {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      const v = t.value;
      if (this.inSearch && t.type === 'op' && v === ':' && left.kind === 'ident') {
        this.next();
        left = freeze({ kind: 'binary', op: 'has', left, right: this.parseAdditive(), pos: t.pos });
        continue;
      }
      if ((t.type === 'op' && COMPARE_OPS.has(v))) {
        this.next();
        left = freeze({ kind: 'binary', op: v === '<>' ? '!=' : v, left, right: this.parseAdditive(), pos: t.pos });
        continue;
      }
      if ((t.type === 'ident' || t.type === 'op') && (v === 'between' || v === '!between')) {
        this.next();
        this.expectOp('(', `after ${v}`);
        const low = this.parseAdditive();
        this.expectOp('..', `in ${v} (low .. high)`);
        const high = this.parseAdditive();
        this.expectOp(')', `to close ${v}`);
        left = freeze({ kind: 'between', negated: v === '!between', left, low, high, pos: t.pos });
        continue;
      }
      if ((t.type === 'ident' || t.type === 'op') && LIST_OPS.has(v)) {
        this.next();
        const list = this.parseListOperand(v);
        left = freeze({ kind: 'inList', op: v, left, list, pos: t.pos });
        continue;
      }
      if ((t.type === 'ident' || t.type === 'op') && STRING_OPS.has(v)) {
        this.next();
        let op = v;
        if (v === 'matches') {
          this.expectWord('regex', "after 'matches'");
          op = 'matches regex';
        }
        left = freeze({ kind: 'binary', op, left, right: this.parseAdditive(), pos: t.pos });
        continue;
      }
      return left;
    }
  }

  private parseListOperand(op: string): Expr[] {
    if (!this.isOp('(')) {
      // `has_any (list)` needs parentheses, but `in dynamic([...])` / `in listVar` is accepted too.
      return [this.parseAdditive()];
    }
    this.next();
    const list: Expr[] = [];
    while (!this.isOp(')')) {
      list.push(this.parsePipe());
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(')', `to close the ${op} list`);
    return Object.freeze(list) as Expr[];
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.next();
      left = freeze({ kind: 'binary', op: t.value, left, right: this.parseMultiplicative(), pos: t.pos });
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.next();
      left = freeze({ kind: 'binary', op: t.value, left, right: this.parseUnary(), pos: t.pos });
    }
    return left;
  }

  private parseUnary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.next();
      const operand = this.parseUnary();
      if (operand.kind === 'literal' && (operand.type === 'long' || operand.type === 'real' || operand.type === 'timespan') && t.value === '-') {
        return freeze({ ...operand, value: -(operand.value as number), pos: t.pos });
      }
      return freeze({ kind: 'unary', op: t.value as '-' | '+', operand, pos: t.pos });
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      if (this.isOp('.') && (this.peek(1).type === 'ident' || this.peek(1).type === 'number')) {
        const t = this.next();
        const name = this.next().value;
        e = freeze({ kind: 'member', object: e, name, pos: t.pos });
        continue;
      }
      if (this.isOp('.') && this.isOp('[', 1)) this.next();
      if (this.isOp('[')) {
        const t = this.next();
        const index = this.parseExpr();
        this.expectOp(']', 'to close the index');
        e = freeze({ kind: 'index', object: e, index, pos: t.pos });
        continue;
      }
      return e;
    }
  }

  private parseArgs(): Expr[] {
    const args: Expr[] = [];
    while (!this.isOp(')')) {
      if (this.isOp('*') && (this.isOp(',', 1) || this.isOp(')', 1))) {
        args.push(freeze({ kind: 'star', pos: this.next().pos }));
      } else if (this.peek().type === 'ident' && this.isOp('=', 1)) {
        // named argument: keep the value only (e.g. pivot(..., x=…)); names are positional here.
        this.next();
        this.next();
        args.push(this.parsePipe());
      } else args.push(this.parsePipe());
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(')', 'to close the argument list');
    return Object.freeze(args) as Expr[];
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'string': {
        this.next();
        let value = t.value;
        // Adjacent string literals concatenate ("a" "b").
        while (this.peek().type === 'string') value += this.next().value;
        return freeze({ kind: 'literal', type: 'string', value, pos: t.pos });
      }
      case 'number': {
        this.next();
        const isReal = /[.eE]/.test(t.value) && !/^0x/i.test(t.value);
        return freeze({ kind: 'literal', type: isReal ? 'real' : 'long', value: t.num, pos: t.pos });
      }
      case 'timespan':
        this.next();
        return freeze({ kind: 'literal', type: 'timespan', value: t.num, pos: t.pos });
      case 'datetime': {
        this.next();
        if (t.value === '' || t.value === 'null') return freeze({ kind: 'literal', type: 'datetime', value: null, pos: t.pos });
        const ms = parseDatetimeLiteral(t.value);
        if (ms === null) this.fail(t, `'${t.value}' is not a datetime (use datetime(2024-01-31) or datetime(2024-01-31 10:00:00))`);
        return freeze({ kind: 'literal', type: 'datetime', value: ms, pos: t.pos });
      }
      case 'op':
        if (t.value === '(') {
          this.next();
          const e = this.parsePipe();
          if (this.isOp(',')) {
            // (a, b) tuple — only meaningful as an `in` list; keep the first.
            while (this.acceptOp(',')) this.parsePipe();
          }
          this.expectOp(')', 'to close the parenthesis');
          return e;
        }
        if (t.value === '*') {
          this.next();
          return freeze({ kind: 'star', pos: t.pos });
        }
        if (t.value === '[' && this.peek(1).type === 'string' && this.isOp(']', 2)) {
          this.next();
          const name = this.next().value;
          this.next();
          return freeze({ kind: 'ident', name, pos: t.pos });
        }
        this.fail(t, `Unexpected ${this.describe(t)}: expected a value, a column or a function call`);
        break;
      case 'ident': {
        this.next();
        const name = t.value;
        if (name === 'true' || name === 'false') return freeze({ kind: 'literal', type: 'bool', value: name === 'true', pos: t.pos });
        if (name === 'null') return freeze({ kind: 'literal', type: 'null', value: null, pos: t.pos });
        if (name === 'dynamic' && this.isOp('(')) {
          this.next();
          const value = this.parseDynamicValue();
          this.expectOp(')', 'to close dynamic(');
          return freeze({ kind: 'literal', type: 'dynamic', value, pos: t.pos });
        }
        if ((name === 'bool' || name === 'boolean') && this.isOp('(')) {
          this.next();
          const v = this.expectIdent('true or false');
          this.expectOp(')');
          return freeze({ kind: 'literal', type: 'bool', value: v === 'true', pos: t.pos });
        }
        if ((name === 'int' || name === 'long' || name === 'real' || name === 'double') && this.isOp('(')) {
          this.next();
          const neg = this.acceptOp('-');
          const v = this.next();
          this.expectOp(')');
          const value = v.value === 'null' ? null : (neg ? -1 : 1) * Number(v.num ?? v.value);
          return freeze({ kind: 'literal', type: name === 'real' || name === 'double' ? 'real' : 'long', value, pos: t.pos });
        }
        if (name === 'typeof' && this.isOp('(')) {
          this.next();
          const tn = this.parseTypeName();
          this.expectOp(')');
          return freeze({ kind: 'literal', type: 'string', value: tn, pos: t.pos });
        }
        if (name === 'datatable' && this.isOp('(')) {
          this.i--;
          return this.parseDatatable();
        }
        if (this.isOp('(') && !(name === 'union' || name === 'search')) {
          this.next();
          return freeze({ kind: 'call', name, args: this.parseArgs(), pos: t.pos });
        }
        if (name === 'union' || name === 'datatable' || name === 'print' || name === 'range' || name === 'search') {
          this.i--;
          return this.parseSource();
        }
        return freeze({ kind: 'ident', name, pos: t.pos });
      }
      default:
        break;
    }
    this.fail(t, `Unexpected ${this.describe(t)}: expected a value, a column or a function call`);
  }

  /** JSON-like body of dynamic(...): arrays, property bags, strings, numbers, booleans, null, datetimes. */
  private parseDynamicValue(): unknown {
    const t = this.peek();
    if (this.acceptOp('[')) {
      const arr: unknown[] = [];
      while (!this.isOp(']')) {
        arr.push(this.parseDynamicValue());
        if (!this.acceptOp(',')) break;
      }
      this.expectOp(']', 'to close the dynamic array');
      return arr;
    }
    if (this.acceptOp('{')) {
      const obj: Record<string, unknown> = {};
      while (!this.isOp('}')) {
        const k = this.next();
        if (k.type !== 'string' && k.type !== 'ident') this.fail(k, 'Expected a property name in the dynamic bag');
        this.expectOp(':', 'after the property name');
        obj[k.value] = this.parseDynamicValue();
        if (!this.acceptOp(',')) break;
      }
      this.expectOp('}', 'to close the dynamic bag');
      return obj;
    }
    if (t.type === 'string') return this.next().value;
    if (t.type === 'number') return this.next().num;
    if (this.isOp('-') && this.peek(1).type === 'number') {
      this.next();
      return -(this.next().num as number);
    }
    if (t.type === 'datetime') {
      this.next();
      const ms = parseDatetimeLiteral(t.value);
      return ms === null ? null : new Date(ms).toISOString();
    }
    if (t.type === 'timespan') return this.next().num;
    if (t.type === 'ident' && (t.value === 'true' || t.value === 'false')) return this.next().value === 'true';
    if (t.type === 'ident' && t.value === 'null') {
      this.next();
      return null;
    }
    this.fail(t, `Unexpected ${this.describe(t)} inside dynamic(): only constants are allowed`);
  }
}

/** `2024-01-31`, `2024-01-31 10:00:00`, `2024-01-31T10:00:00.123Z`, … → epoch ms UTC. */
export function parseDatetimeLiteral(body: string): number | null {
  const s = body.trim();
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (m) {
    const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), frac);
    if (m[8] && m[8].toUpperCase() !== 'Z') {
      const sign = m[8][0] === '-' ? -1 : 1;
      const digits = m[8].slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return Number.isFinite(ms) ? ms : null;
  }
  const parsed = Date.parse(s.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(s) ? s : `${s} UTC`);
  return Number.isFinite(parsed) ? parsed : null;
}
