// Small DOM helpers shared by the screens.

/**
 * $ is the page's element with this id, of this type if one is given
 * ($('mic', HTMLSelectElement)). The page is static: a missing element
 * is a bug, reported here rather than as "null has no properties" later.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{new (): T, prototype: T}} [type]
 * @returns {T}
 */
export function $(id, type) {
  const el = document.getElementById(id);
  if (!el || (type && !(el instanceof type))) throw new Error(`palabre: no ${type ? type.name : 'element'} #${id} in the page`);
  return /** @type {T} */ (el);
}

/**
 * h builds an element: h('button', {type: 'button', class: 'btn'}, 'text').
 * Attributes are set with setAttribute (null/false skip one); children
 * are nodes or strings (strings become text, never HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** @param {HTMLElement} el @param {boolean} on */
export function show(el, on) {
  el.hidden = !on;
}

/**
 * setStack shows the i-th label of a .stack element. A stack holds all
 * its labels in one grid cell, the others invisible, so it is as wide as
 * its longest label whichever shows: a button whose label changes ("Mute"
 * / "Unmute") never changes size, and nothing around it moves.
 * @param {HTMLElement} el @param {number} i
 */
export function setStack(el, i) {
  [...el.children].forEach((c, j) => c.classList.toggle('on', j === i));
}

/**
 * stack builds a .stack element of the given labels (the first showing).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, string>} attrs @param {string[]} labels
 * @returns {HTMLElementTagNameMap[K]}
 */
export function stack(tag, attrs, labels) {
  const el = h(tag, attrs, ...labels.map((l) => h('span', {}, l)));
  el.classList.add('stack');
  setStack(el, 0);
  return el;
}

/**
 * isTextField: keys typed here belong to the field, not to push-to-talk.
 * @param {EventTarget | null} target
 */
export function isTextField(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (!(target instanceof HTMLInputElement)) return false;
  const nonText = ['button', 'checkbox', 'radio', 'range', 'color', 'file', 'submit', 'reset', 'image'];
  return !nonText.includes((target.type || 'text').toLowerCase());
}

/**
 * copyText copies to the clipboard. Without clipboard access (an insecure
 * context, a refusal) it selects the element's text so that the user can
 * copy it by hand, and resolves false.
 * @param {string} text @param {Element | null} el
 */
export async function copyText(text, el) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const sel = window.getSelection();
    if (el && sel) {
      const range = document.createRange();
      range.selectNodeContents(el);
      sel.removeAllRanges();
      sel.addRange(range);
    }
    return false;
  }
}

/**
 * whileBusy disables a control until the promise settles (a request on
 * its way), and returns the promise.
 * @template T
 * @param {HTMLButtonElement | HTMLSelectElement} control @param {Promise<T>} p
 */
export function whileBusy(control, p) {
  control.disabled = true;
  p.finally(() => {
    control.disabled = false;
  }).catch(() => {});
  return p;
}

/**
 * sleep resolves after ms; wake() (returned alongside) ends it early.
 * @param {number} ms
 * @returns {{done: Promise<void>, wake: () => void}}
 */
export function sleep(ms) {
  /** @type {() => void} */
  let wake = () => {};
  /** @type {Promise<void>} */
  const done = new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}
