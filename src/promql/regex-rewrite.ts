/**
 * RE2 allows case-insensitivity to be switched on inside a pattern, with
 * `(?i:...)` or a `(?i)` that covers the rest of the enclosing group.
 * JavaScript (before Node 23) only has a whole-pattern `i` flag. We rewrite
 * such patterns into plain ones where each letter becomes a class of both
 * cases (`(?i:ab)` -> `(?:[aA][bB])`), which RE2 reads the same way, so the
 * matcher stays portable to any store. A leading `(?i)` is left alone: the
 * storage layer already turns it into the `i` flag.
 */
export function rewriteCaseInsensitive(source: string): string {
  if (!/\(\?[a-zA-Z-]*i/.test(source.replace(/^\(\?i\)/, ''))) return source;
  let out = '';
  // One entry per open group: whether case-insensitivity was on when it opened.
  const stack: boolean[] = [];
  let ci = false;
  let i = 0;
  // A leading `(?i)` is already whole-pattern: the storage layer handles it.
  if (source.startsWith('(?i)')) return source;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      const cls = source.slice(i, j + 1);
      out += ci ? foldClass(cls) : cls;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      const flags = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(source.slice(i));
      if (flags && /^[ims]*$/.test(flags[1]) && /^[ims]*$/.test(flags[2] ?? '')) {
        const on = flags[1].includes('i') ? true : (flags[2] ?? '').includes('i') ? false : undefined;
        const keep = (flags[1].replace('i', '') + (flags[2] ? '-' + flags[2].replace('i', '') : '')).replace(/-$/, '');
        if (flags[3] === ')') {
          // Applies to the rest of the enclosing group.
          if (on !== undefined) ci = on;
          if (keep) out += `(?${keep})`;
        } else {
          stack.push(ci);
          if (on !== undefined) ci = on;
          out += keep ? `(?${keep}:` : '(?:';
        }
        i += flags[0].length;
        continue;
      }
      stack.push(ci);
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      ci = stack.pop() ?? false;
      out += c;
      i++;
      continue;
    }
    if (ci && /[a-zA-Z]/.test(c) && c.toLowerCase() !== c.toUpperCase()) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    } else out += c;
    i++;
  }
  return out;
}

/** Adds the other case of every letter and letter range to a character class. */
function foldClass(cls: string): string {
  const negated = cls.startsWith('[^');
  const body = cls.slice(negated ? 2 : 1, -1);
  let extra = '';
  for (let k = 0; k < body.length; k++) {
    if (body[k] === '\\') {
      k++;
      continue;
    }
    const a = body[k];
    if (body[k + 1] === '-' && body[k + 2] !== undefined && body[k + 2] !== ']') {
      const b = body[k + 2];
      if (/[a-z]/.test(a) && /[a-z]/.test(b)) extra += `${a.toUpperCase()}-${b.toUpperCase()}`;
      else if (/[A-Z]/.test(a) && /[A-Z]/.test(b)) extra += `${a.toLowerCase()}-${b.toLowerCase()}`;
      k += 2;
      continue;
    }
    if (/[a-zA-Z]/.test(a)) extra += a === a.toLowerCase() ? a.toUpperCase() : a.toLowerCase();
  }
  return `[${negated ? '^' : ''}${body}${extra}]`;
}
