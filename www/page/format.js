// Formatting numbers, sizes and values for people.

import { dtype as dtypeFacts } from './dtypes.js';

export function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** 1234567 -> "1.23M" (short) */
export function count(n) {
  if (n == null) return '–';
  n = Number(n);
  if (n < 1000) return String(n);
  const units = [['T', 1e12], ['B', 1e9], ['M', 1e6], ['K', 1e3]];
  for (const [u, s] of units) {
    if (n >= s) {
      const v = n / s;
      return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${u}`;
    }
  }
  return String(n);
}

/** One formatter for every call: `toLocaleString` builds a new one each time (tens of ms per open). */
const GROUPED = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567" */
export function grouped(n) {
  return n == null ? '–' : GROUPED.format(Number(n));
}

export function shape(s) {
  return `[${s.join(', ')}]`;
}

/** A JSON number from the document: numbers, or "nan" / "inf" / "-inf" strings. */
export function num(v) {
  if (typeof v === 'string') {
    if (v === 'nan') return NaN;
    if (v === 'inf') return Infinity;
    if (v === '-inf') return -Infinity;
    return Number(v);
  }
  return v;
}

export function float(v, digits = 6) {
  v = num(v);
  if (v == null) return '–';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e6) {
    const s = v.toPrecision(digits);
    return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  }
  return v.toExponential(Math.max(1, digits - 2)).replace(/\.?0+e/, 'e');
}

/** One element, formatted for its dtype (torch's name). */
export function value(v, dtype) {
  if (dtype === 'bool') return v ? 'True' : 'False';
  if (dtypeFacts(dtype).is_integer) return Number.isFinite(v) ? String(v) : float(v);
  const digits = /16|8/.test(dtype) ? 4 : dtype === 'float64' ? 8 : 6;
  return float(v, digits);
}

export function ms(t) {
  return t < 10 ? `${t.toFixed(1)} ms` : t < 1000 ? `${Math.round(t)} ms` : `${(t / 1000).toFixed(2)} s`;
}
