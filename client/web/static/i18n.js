// The app's words: picks the language, looks up keys, fills placeholders.
// The strings themselves are data, one file per language under lang/
// (lang/fr.js, lang/en.js: same keys, same {placeholders}, checked by
// embed_test.go). English is the fallback for a key a language lacks.

import fr from './lang/fr.js';
import en from './lang/en.js';

/** @typedef {Record<string, string>} Dictionary */
/** A placeholder's value: text, or a key whose text (in the language of
 * the moment) fills it.
 * @typedef {string | number | {key: string}} Param */

/** @type {Record<string, Dictionary>} */
const DICTS = { fr, en };
/** @type {Dictionary} */
const FALLBACK = en;
const STORE = 'palabre.lang';

/** @returns {string} the saved choice, else the browser's first known language, else English */
function detect() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORE);
  } catch {
    // storage refused
  }
  if (saved && Object.hasOwn(DICTS, saved)) return saved;
  const wanted = [navigator.language, ...(navigator.languages || [])];
  for (const l of wanted) {
    const base = String(l || '').toLowerCase().split('-')[0];
    if (Object.hasOwn(DICTS, base)) return base;
  }
  return 'en';
}

let lang = detect();
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

/** @param {string} l a language code: 'fr' or 'en' (others are ignored) */
export function setLang(l) {
  if (!Object.hasOwn(DICTS, l)) return;
  lang = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    // the choice lasts as long as the page
  }
}

/** @param {string} key */
export function has(key) {
  return Object.hasOwn(DICTS[lang], key) || Object.hasOwn(FALLBACK, key);
}

/**
 * t is the text for key in the current language, {placeholders} filled
 * from params (an unknown key reads as itself).
 * @param {string} key
 * @param {Record<string, Param>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const dict = DICTS[lang];
  const s = Object.hasOwn(dict, key) ? dict[key] : Object.hasOwn(FALLBACK, key) ? FALLBACK[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, k) => {
    const v = params[k];
    if (v === undefined) return m;
    return typeof v === 'object' ? t(v.key) : String(v);
  });
}

/**
 * tn picks the plural form of base for n: base.one, base.other (and any
 * other CLDR category the dictionary has), with {n} filled.
 * @param {string} base
 * @param {number} n
 * @param {Record<string, Param>} [params]
 */
export function tn(base, n, params = {}) {
  const rule = new Intl.PluralRules(lang).select(n);
  const key = has(`${base}.${rule}`) ? `${base}.${rule}` : `${base}.other`;
  return t(key, { ...params, n });
}

/**
 * applyTranslations fills the static page: data-i18n sets the text,
 * data-i18n-aria-label and data-i18n-placeholder the attributes.
 * @param {ParentNode} [root]
 */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(/** @type {HTMLElement} */ (el).dataset.i18n || '');
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(/** @type {HTMLElement} */ (el).dataset.i18nAriaLabel || ''));
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(/** @type {HTMLElement} */ (el).dataset.i18nPlaceholder || ''));
  }
}
