/** Deep comparison of two JSON answers, key order included. */

/** Fields that depend on the instant a rule was judged at; the two processes judge at slightly different instants. */
const NOW_DEPENDENT = new Set(['usableForNotification', 'notificationStatus']);

export interface JsonDifference {
  path: string;
  a: unknown;
  b: unknown;
}

export function differences(a: unknown, b: unknown, path = '$', out: JsonDifference[] = [], max = 50): JsonDifference[] {
  if (out.length >= max) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    out.push({ path, a, b });
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ path: `${path}.length`, a: a.length, b: b.length });
    for (let i = 0; i < Math.min(a.length, b.length); i++) differences(a[i], b[i], `${path}[${i}]`, out, max);
  } else if (a !== null && typeof a === 'object') {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    if (ka.join(',') !== kb.join(',')) out.push({ path: `${path} (keys)`, a: ka, b: kb });
    for (const key of ka) if (kb.includes(key)) differences((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`, out, max);
  } else if (a !== b) {
    out.push({ path, a, b });
  }
  return out;
}

/** Throws with the differences unless the answers are the same but for now-dependent fields. */
export function assertSameAnswer(nameA: string, a: unknown, nameB: string, b: unknown): { nowDependent: number } {
  const found = differences(a, b);
  const real = found.filter((d) => !NOW_DEPENDENT.has(d.path.slice(d.path.lastIndexOf('.') + 1)));
  if (real.length > 0) {
    const shown = real.slice(0, 10).map((d) => `  ${d.path}: ${nameA}=${JSON.stringify(d.a)} ${nameB}=${JSON.stringify(d.b)}`);
    throw new Error(`${nameA} and ${nameB} answer differently:\n${shown.join('\n')}`);
  }
  return { nowDependent: found.length };
}
