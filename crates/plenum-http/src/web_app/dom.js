// A tiny view helper: elements are built as DOM nodes (never from HTML strings), so text from
// the server is always text.

/// h('button', {type: 'button', onclick: f, class: 'x'}, 'Label', child, ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/// Replaces what `el` holds with `children`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/// A labelled form field: a wrapper with a <label for> and the control.
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

/// A labelled checkbox.
export function checkbox(id, label, checked) {
  return h('div', { class: 'check' },
    h('input', { type: 'checkbox', id, checked: !!checked }),
    h('label', { for: id }, label));
}

/// A heading that takes the focus when a view opens, so screen readers announce it.
export function heading(text, level = 1) {
  return h(`h${level}`, { tabindex: '-1', class: 'view-heading' }, text);
}
